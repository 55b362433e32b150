using System.Diagnostics;
using System.Globalization;

namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>
/// Identifies an emulator process (host name, PID, start time), for people reading an <see cref="OwnerLease"/> file,
/// and to judge containers labelled by emulators before leases, which named their owner this way. A PID proves
/// nothing across PID namespaces, so new containers are judged by their owner's lease instead.
/// </summary>
public sealed record EmulatorProcess(string Host, int Pid, long StartTicks)
{
    private static readonly TimeSpan StartTimeTolerance = TimeSpan.FromSeconds(5);

    public static EmulatorProcess Current { get; } = Create();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}/{Pid}/{StartTicks}");

    public static EmulatorProcess? Parse(string? value)
    {
        var parts = value?.Split('/');
        return parts is [var host, var pid, var ticks]
            && int.TryParse(pid, CultureInfo.InvariantCulture, out var p)
            && long.TryParse(ticks, CultureInfo.InvariantCulture, out var t)
            ? new EmulatorProcess(host, p, t)
            : null;
    }

    /// <summary>
    /// True when this owner certainly no longer runs: it was on this host and its PID is gone or now
    /// belongs to a process started at another time. Owners on other hosts are never judged dead.
    /// </summary>
    public bool IsGone()
    {
        if (Host != Current.Host)
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(Pid);

            // The start time is derived from the boot time each time it is read, so it wobbles by a little:
            // only a clearly different one means the PID now belongs to another process.
            return process.HasExited || Math.Abs(process.StartTime.ToUniversalTime().Ticks - StartTicks) > StartTimeTolerance.Ticks;
        }
        catch (ArgumentException)
        {
            return true;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private static EmulatorProcess Create()
    {
        using var process = Process.GetCurrentProcess();
        return new EmulatorProcess(Environment.MachineName, process.Id, process.StartTime.ToUniversalTime().Ticks);
    }
}
