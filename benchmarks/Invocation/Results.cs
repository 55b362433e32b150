using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>What one target collected over all measured rounds (warm-up excluded).</summary>
internal sealed class TargetResults(string name, int rounds, int requestsPerRound, int cpuSources)
{
    public string Name { get; } = name;

    /// <summary>Latency samples of every round, in <see cref="Stopwatch"/> ticks.</summary>
    public long[] LatencyTicks { get; } = new long[rounds * requestsPerRound];

    public List<double> RoundP50Ms { get; } = [];

    public List<double> RoundRps { get; } = [];

    public long ThroughputRequests { get; set; }

    public TimeSpan ThroughputTime { get; set; }

    public TimeSpan?[] LatencyCpu { get; } = new TimeSpan?[cpuSources];

    public TimeSpan?[] ThroughputCpu { get; } = new TimeSpan?[cpuSources];

    public double Rps => ThroughputRequests / ThroughputTime.TotalSeconds;

    public static void Add(TimeSpan?[] total, TimeSpan?[] delta)
    {
        for (var i = 0; i < total.Length; i++)
        {
            total[i] = delta[i] is { } d ? (total[i] ?? TimeSpan.Zero) + d : total[i];
        }
    }
}

/// <summary>Percentiles and the final table.</summary>
internal static class Report
{
    public const double AddedP50GoalMs = 0.2;
    public const double ThroughputRatioGoal = 0.8;

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>Nearest-rank percentile of sorted samples, in ms.</summary>
    public static double PercentileMs(long[] sorted, double percentile)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return Ms(sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)]);
    }

    public static double P50Ms(ReadOnlySpan<long> samples)
    {
        var copy = samples.ToArray();
        Array.Sort(copy);
        return PercentileMs(copy, 50);
    }

    public static string Print(BenchOptions options, TargetResults direct, TargetResults pexec, IReadOnlyList<string> cpuNames, long directErrors, long pexecErrors)
    {
        var d = (long[])direct.LatencyTicks.Clone();
        var p = (long[])pexec.LatencyTicks.Clone();
        Array.Sort(d);
        Array.Sort(p);

        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine(Invariant($"== Results: {options.Rounds} round{(options.Rounds == 1 ? string.Empty : "s")} per target, alternating; latency {options.Requests} sequential requests per round on 1 connection; throughput {options.Duration.TotalSeconds:0.#} s per round on {options.Connections} connections =="));
        sb.AppendLine();
        Row(sb, "latency (1 connection)", "direct", "pexec", "pexec - direct");
        foreach (var (label, pct) in new[] { ("p50", 50.0), ("p90", 90.0), ("p99", 99.0) })
        {
            var dv = PercentileMs(d, pct);
            var pv = PercentileMs(p, pct);
            Row(sb, $"  {label} (ms)", Invariant($"{dv:F3}"), Invariant($"{pv:F3}"), Invariant($"{pv - dv:+0.000;-0.000}"));
        }

        var dMean = d.Length > 0 ? Ms((long)d.Average()) : double.NaN;
        var pMean = p.Length > 0 ? Ms((long)p.Average()) : double.NaN;
        Row(sb, "  mean (ms)", Invariant($"{dMean:F3}"), Invariant($"{pMean:F3}"), Invariant($"{pMean - dMean:+0.000;-0.000}"));
        var addedPerRound = direct.RoundP50Ms.Zip(pexec.RoundP50Ms, (a, b) => b - a).ToList();
        Row(sb, "  p50 per round, min-max", Span(direct.RoundP50Ms, "F3"), Span(pexec.RoundP50Ms, "F3"), Span(addedPerRound, "+0.000;-0.000"));
        Row(sb, "  requests", Invariant($"{d.Length}"), Invariant($"{p.Length}"), string.Empty);
        sb.AppendLine();

        Row(sb, Invariant($"throughput ({options.Connections} connections)"), "direct", "pexec", "pexec / direct");
        var ratio = pexec.Rps / direct.Rps;
        Row(sb, "  req/s", Invariant($"{direct.Rps:F0}"), Invariant($"{pexec.Rps:F0}"), Invariant($"{ratio:F3}"));
        var ratioPerRound = direct.RoundRps.Zip(pexec.RoundRps, (a, b) => b / a).ToList();
        Row(sb, "  req/s per round, min-max", Span(direct.RoundRps, "F0"), Span(pexec.RoundRps, "F0"), Span(ratioPerRound, "F3"));
        Row(sb, "  requests", Invariant($"{direct.ThroughputRequests}"), Invariant($"{pexec.ThroughputRequests}"), string.Empty);
        sb.AppendLine();
        Row(sb, "errors (non-200 or wrong body)", Invariant($"{directErrors}"), Invariant($"{pexecErrors}"), string.Empty);

        if (cpuNames.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("CPU per request (us; from /proc, 10 ms resolution; 'machine' is every process and the kernel):");
            Row(sb, "  source", "lat direct", "lat pexec", "tput direct", "tput pexec");
            for (var i = 0; i < cpuNames.Count; i++)
            {
                Row(
                    sb,
                    "  " + cpuNames[i],
                    PerRequest(direct.LatencyCpu[i], d.Length),
                    PerRequest(pexec.LatencyCpu[i], p.Length),
                    PerRequest(direct.ThroughputCpu[i], direct.ThroughputRequests),
                    PerRequest(pexec.ThroughputCpu[i], pexec.ThroughputRequests));
            }
        }

        var addedP50 = PercentileMs(p, 50) - PercentileMs(d, 50);
        sb.AppendLine();
        if (options.Smoke)
        {
            sb.AppendLine("smoke run: goals not judged");
            return sb.ToString();
        }

        sb.AppendLine(Invariant($"added p50 at 1 connection: {addedP50:F3} ms (goal ≤ {AddedP50GoalMs} ms) {(addedP50 <= AddedP50GoalMs ? "MET" : "NOT MET")}"));
        sb.AppendLine(Invariant($"throughput ratio at {options.Connections} connections: {ratio:F3} (goal ≥ {ThroughputRatioGoal}) {(ratio >= ThroughputRatioGoal ? "MET" : "NOT MET")}"));
        return sb.ToString();
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Bytes of a JSON object of (about) the given size: the body every target is sent.</summary>
    public static byte[] JsonBody(int size)
    {
        const string prefix = "{\"prompt\":\"";
        const string suffix = "\",\"max_tokens\":16}";
        var filler = Math.Max(1, size - prefix.Length - suffix.Length);
        return Encoding.UTF8.GetBytes(prefix + new string('x', filler) + suffix);
    }

    private static string PerRequest(TimeSpan? cpu, long requests) =>
        cpu is { } c && requests > 0 ? Invariant($"{c.TotalMicroseconds / requests:F0}") : "-";

    private static string Span(List<double> values, string format) =>
        values.Count == 0 ? "-" : values.Min().ToString(format, CultureInfo.InvariantCulture) + " - " + values.Max().ToString(format, CultureInfo.InvariantCulture);

    private static void Row(StringBuilder sb, string label, params string[] columns)
    {
        sb.Append(label.PadRight(32));
        foreach (var column in columns)
        {
            sb.Append(column.PadLeft(columns.Length > 3 ? 13 : 17));
        }

        sb.AppendLine();
    }
}
