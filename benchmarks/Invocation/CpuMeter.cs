using System.Globalization;
using System.Text;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// Where the CPU goes during a round (Linux only; elsewhere nothing is measured): this harness (or, when the load
/// generator is a child process such as wrk, that child), the emulator, the container (its cgroup, else its main
/// process), Docker's userland proxy for the published port, and the whole machine from <c>/proc/stat</c>.
/// Cumulative counters, read before and after a round.
/// </summary>
internal sealed class CpuMeter
{
    private readonly List<(string Name, Func<TimeSpan?> Read)> _sources = [];

    public IReadOnlyList<string> Names => [.. _sources.Select(s => s.Name)];

    public bool Enabled => _sources.Count > 0;

    /// <param name="emulatorPid">The emulator's process, when known.</param>
    /// <param name="containerId">The function's container.</param>
    /// <param name="publishedPort">The host port whose <c>docker-proxy</c> is measured.</param>
    /// <param name="childLoad">
    /// The name of the load generator when it runs as a child process of this harness, one run per round (wrk): its
    /// CPU is then what this process's exited children used (<c>cutime + cstime</c>), counted once each run has ended.
    /// </param>
    /// <param name="cancellationToken">Cancels the Docker CLI call.</param>
    public static async Task<CpuMeter> CreateAsync(int? emulatorPid, string? containerId, int? publishedPort, string? childLoad, CancellationToken cancellationToken)
    {
        var meter = new CpuMeter();
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/stat"))
        {
            return meter;
        }

        var self = Environment.ProcessId;
        meter._sources.Add(childLoad is null ? ("harness", () => ProcessCpu(self)) : (childLoad, () => ProcessCpu(self, children: true)));
        if (emulatorPid is { } pid)
        {
            meter._sources.Add(("emulator", () => ProcessCpu(pid)));
        }

        if (containerId is not null)
        {
            try
            {
                var containerPid = int.Parse((await Docker.RunAsync(["inspect", "-f", "{{.State.Pid}}", containerId], cancellationToken)).Trim(), CultureInfo.InvariantCulture);
                var cgroup = ContainerCgroupReader(containerPid);
                meter._sources.Add(("container", cgroup ?? (() => ProcessCpu(containerPid))));
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or IOException)
            {
                Console.WriteLine($"note: container CPU not measured ({e.Message})");
            }
        }

        if (publishedPort is { } port && FindDockerProxy(port) is { } proxyPid)
        {
            meter._sources.Add(("docker-proxy", () => ProcessCpu(proxyPid)));
        }

        meter._sources.Add(("machine", MachineBusy));
        return meter;
    }

    public TimeSpan?[] Read() => [.. _sources.Select(s => s.Read())];

    /// <summary>CPU used between two readings, per source.</summary>
    public static TimeSpan?[] Delta(TimeSpan?[] before, TimeSpan?[] after) =>
        [.. before.Zip(after, (b, a) => b is { } x && a is { } y ? y - x : (TimeSpan?)null)];

    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on every Linux architecture .NET runs on

    /// <summary>A process's CPU time (utime + stime), or with <paramref name="children"/> that of its exited children.</summary>
    public static TimeSpan? ProcessCpu(int pid, bool children = false)
    {
        try
        {
            // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th; cutime
            // and cstime (children waited for) the 16th and 17th.
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var first = children ? 13 : 11;
            var ticks = long.Parse(fields[first], CultureInfo.InvariantCulture) + long.Parse(fields[first + 1], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>A process's resident set (<c>VmRSS</c> in <c>/proc/PID/status</c>) in bytes, or null.</summary>
    public static long? ResidentBytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            var kib = line?["VmRSS:".Length..].Trim().Split(' ')[0];
            return kib is null ? null : long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Busy time of all CPUs together (everything but idle and iowait).</summary>
    private static TimeSpan? MachineBusy()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var line = reader.ReadLine() ?? string.Empty; // "cpu  user nice system idle iowait irq softirq steal ..."
            var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var busy = values.Take(8).Sum() - values[3] - values[4];
            return TimeSpan.FromSeconds(busy / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The container's cgroup CPU counter: v2 <c>cpu.stat</c> or v1 <c>cpuacct.usage</c>; null if neither is readable.</summary>
    private static Func<TimeSpan?>? ContainerCgroupReader(int pid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cgroup");
        }
        catch (IOException)
        {
            return null;
        }

        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            if (parts[1].Split(',').Contains("cpuacct"))
            {
                foreach (var mount in new[] { "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuacct,cpu" })
                {
                    var file = mount + parts[2] + "/cpuacct.usage";
                    if (File.Exists(file))
                    {
                        return () => ReadNumber(file) is { } ns ? TimeSpan.FromTicks(ns / 100) : null;
                    }
                }
            }
            else if (parts[0] == "0" && parts[1].Length == 0)
            {
                var file = "/sys/fs/cgroup" + parts[2] + "/cpu.stat";
                if (File.Exists(file) && File.ReadAllText(file).Contains("usage_usec", StringComparison.Ordinal))
                {
                    return () =>
                    {
                        try
                        {
                            var usage = File.ReadLines(file).First(l => l.StartsWith("usage_usec ", StringComparison.Ordinal));
                            return TimeSpan.FromMicroseconds(long.Parse(usage["usage_usec ".Length..], CultureInfo.InvariantCulture));
                        }
                        catch (Exception e) when (e is IOException or FormatException or InvalidOperationException)
                        {
                            return null;
                        }
                    };
                }
            }
        }

        return null;
    }

    private static long? ReadNumber(string file)
    {
        try
        {
            return long.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The <c>docker-proxy</c> process forwarding a published host port, if the engine uses the userland proxy.</summary>
    private static int? FindDockerProxy(int hostPort)
    {
        var wanted = "\0-host-port\0" + hostPort.ToString(CultureInfo.InvariantCulture) + "\0";
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir, "cmdline")));
                if (cmdline.Contains("docker-proxy", StringComparison.Ordinal) && (cmdline + "\0").Contains(wanted, StringComparison.Ordinal))
                {
                    return pid;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }

        return null;
    }

    /// <summary>The 1-minute load average, to tell a busy machine from a slow path.</summary>
    public static string LoadAverage()
    {
        try
        {
            return OperatingSystem.IsLinux() ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
