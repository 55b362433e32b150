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

    /// <summary>The inode of the kernel's initial PID namespace (<c>PROC_PID_INIT_INO</c>), the same on every Linux host.</summary>
    private const string InitialPidNamespace = "pid:[4026531836]";

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
    /// Whether this process sees every process of its host: true outside containers (the host's PID namespace, or a
    /// system without PID namespaces). An emulator in a container sees only its own processes, even when it shares
    /// the host's network and so its host name.
    /// </summary>
    public static bool SeesHostProcesses { get; } = ReadSeesHostProcesses();

    /// <summary>
    /// True when this owner certainly no longer runs: it was on this host and its PID is gone or now
    /// belongs to a process started at another time. Owners on other hosts are never judged dead, nor is any owner
    /// judged by a process that does not see the host's processes (<see cref="SeesHostProcesses"/>).
    /// </summary>
    public bool IsGone()
    {
        if (Host != Current.Host || !SeesHostProcesses)
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

    private static bool ReadSeesHostProcesses()
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        try
        {
            return new FileInfo("/proc/self/ns/pid").LinkTarget is not { } target || target == InitialPidNamespace;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static EmulatorProcess Create()
    {
        using var process = Process.GetCurrentProcess();
        return new EmulatorProcess(Environment.MachineName, process.Id, process.StartTime.ToUniversalTime().Ticks);
    }
}
