using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static Nvcf.Benchmarks.Invocation.Report;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// <c>--profile</c>: where the emulator's CPU goes while it serves one target at full load. <c>perf record</c> samples
/// the emulator's process (call graphs, kernel included) for as long as one wrk throughput run lasts; the report
/// gives its share per binary (the kernel, .NET's JIT-compiled code, the runtime, libc), per system call
/// (inclusive: everything the kernel did inside it) and its hottest functions. The emulator runs with
/// <c>DOTNET_PerfMapEnabled=1</c> then, so that perf can name JIT-compiled methods.
/// </summary>
internal sealed partial class Profiler(string perf, string folder)
{
    /// <summary>
    /// What the emulator needs to be profiled: perf maps of its JIT-compiled code, which perf can use only when that
    /// code is not double-mapped (W^X off; it shows as <c>memfd:doublemapper</c> otherwise).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> EmulatorEnvironment = new Dictionary<string, string>
    {
        ["DOTNET_PerfMapEnabled"] = "1",
        ["DOTNET_EnableWriteXorExecute"] = "0",
    };

    private const int Frequency = 997;

    /// <summary>Finds perf (installed by <c>eng/bench.sh --profile</c>); throws with how to get it when it is missing.</summary>
    public static async Task<Profiler> LocateAsync(CancellationToken cancellationToken)
    {
        string? problem;
        try
        {
            var (exitCode, output) = await Wrk.RunProcessAsync("perf", ["--version"], null, TimeSpan.FromSeconds(30), cancellationToken);
            problem = exitCode == 0 ? null : output.Trim();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            problem = e.Message; // not on PATH
        }

        if (problem is not null)
        {
            throw new InvalidOperationException($"--profile needs perf (Debian: apt-get install linux-perf): {problem}");
        }

        return new Profiler("perf", Directory.CreateTempSubdirectory("nvcf-bench-perf-").FullName);
    }

    /// <summary>Samples <paramref name="pid"/> while <paramref name="load"/> runs; returns the report, printed.</summary>
    public async Task<string> ProfileAsync(int pid, string name, TimeSpan duration, Func<Task<WrkResult>> load, CancellationToken cancellationToken)
    {
        var data = Path.Combine(folder, name + ".data");
        var seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        var recording = Wrk.RunProcessAsync(
            perf,
            ["record", "-F", Frequency.ToString(CultureInfo.InvariantCulture), "-g", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", data, "--", "sleep", seconds.ToString(CultureInfo.InvariantCulture)],
            null,
            duration + TimeSpan.FromSeconds(60),
            cancellationToken);
        var result = await load();
        var (exitCode, output) = await recording;
        if (exitCode != 0 || !File.Exists(data))
        {
            throw new InvalidOperationException($"perf record failed ({exitCode}): {output.Trim()}");
        }

        var byBinary = await ReportAsync(data, ["--no-children", "--sort", "dso"], cancellationToken);
        var inclusive = await ReportAsync(data, ["--children", "--sort", "sym"], cancellationToken);
        var bySymbol = await ReportAsync(data, ["--no-children", "--sort", "dso,sym"], cancellationToken);

        var sb = new StringBuilder();
        var samples = SamplesLine().Match(byBinary) is { Success: true } m ? m.Groups[1].Value : "?";
        sb.AppendLine(Invariant($"profile of the emulator during {name} at {result.Rps:F0} req/s ({seconds} s, perf record -F {Frequency} -g, {samples} samples; {data}):"));
        sb.AppendLine("  by binary (self):      " + string.Join("  ", Shares(byBinary).Take(6).Select(s => Invariant($"{Binary(s.Name)} {s.Percent:F1}%"))));
        sb.AppendLine("  system calls (incl.):  " + string.Join("  ", Syscalls(inclusive).Take(10).Select(s => Invariant($"{s.Name} {s.Percent:F1}%"))));
        sb.AppendLine("  hottest (self):");
        foreach (var (percent, line) in Shares(bySymbol).Take(15))
        {
            sb.AppendLine(Invariant($"    {percent,5:F1}%  {line}"));
        }

        return sb.ToString();
    }

    private async Task<string> ReportAsync(string data, string[] sort, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await Wrk.RunProcessAsync(
            perf, ["report", "-i", data, "--stdio", "-g", "none", "--percent-limit", "0.5", .. sort], null, TimeSpan.FromMinutes(5), cancellationToken);
        return exitCode == 0 ? output : throw new InvalidOperationException($"perf report failed ({exitCode}): {output.Trim()}");
    }

    /// <summary>The report's rows: the first percentage and the rest of the line.</summary>
    private static IEnumerable<(double Percent, string Name)> Shares(string report) =>
        report.Split('\n')
            .Select(line => Row().Match(line))
            .Where(m => m.Success)
            .Select(m => (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Collapse(m.Groups[2].Value)));

    /// <summary>System-call entry points (<c>__x64_sys_futex</c>) with their inclusive share, largest first.</summary>
    private static IEnumerable<(string Name, double Percent)> Syscalls(string report) =>
        report.Split('\n')
            .Select(line => SyscallRow().Match(line))
            .Where(m => m.Success)
            .Select(m => (m.Groups[2].Value, double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)))
            .OrderByDescending(s => s.Item2);

    private static string Binary(string dso) => dso switch
    {
        "[kernel.kallsyms]" => "kernel",
        _ when dso.StartsWith("perf-", StringComparison.Ordinal) || dso.StartsWith("[JIT]", StringComparison.Ordinal) || dso.StartsWith("memfd:doublemapper", StringComparison.Ordinal) => ".NET JIT code",
        _ => dso,
    };

    private static string Collapse(string text) => Spaces().Replace(text.Trim(), " ");

    [GeneratedRegex(@"^\s*([0-9.]+)%\s+(?:[0-9.]+%\s+)?(\S.*)$")]
    private static partial Regex Row();

    [GeneratedRegex(@"^\s*([0-9.]+)%\s+[0-9.]+%\s+\[k\]\s+__(?:x64|arm64|ia32)_sys_(\w+)")]
    private static partial Regex SyscallRow();

    [GeneratedRegex(@"# Samples: (\S+)")]
    private static partial Regex SamplesLine();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
