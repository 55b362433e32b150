using System.Globalization;
using System.Net.Sockets;
using System.Text;
using static Nvcf.Benchmarks.Invocation.Report;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// The default mode: wrk against four targets that reach the same echo container, in alternating rounds:
/// (A) the container's own address on the emulator's network, (B) its published port through <c>docker-proxy</c>,
/// (C) pexec and (D) HTTP invocation (<c>function-id</c> header) through the emulator. Latency at one connection,
/// throughput at many, the emulator's CPU per request and its RSS; then the goal lines. See README.md.
/// </summary>
internal static class WrkBench
{
    /// <summary>Goal: the emulator's req/s at least this times the published port's.</summary>
    public const double PublishedRatioGoal = 1.0;

    /// <summary>Goal: the emulator's req/s at least this times the container's own address's.</summary>
    public const double OwnRatioGoal = 0.5;

    /// <summary>Goal: the emulator's p50 at one connection at most this much above the container's own address's.</summary>
    public const double AddedP50GoalMs = 0.1;

    /// <summary>Goal: the emulator's CPU per pexec request at most this many µs.</summary>
    public const double EmulatorCpuGoalUs = 60;

    private const string WrkSource = "wrk";

    /// <summary>
    /// Measures the four targets of <paramref name="function"/>'s container and prints the results and goal lines.
    /// Returns 0 once measured (goals not met included); throws when a target answers other than a 200 with the body.
    /// </summary>
    public static async Task<int> RunAsync(BenchOptions options, Uri emulatorUrl, EchoFunction function, int? emulatorPid, CancellationToken cancellationToken)
    {
        var own = function.OwnBase ?? throw new InvalidOperationException(
            $"container {function.ContainerId?[..12]} has no bridge address (is Emulator:Docker:NetworkMode set to host or none?): target A needs one");
        var published = function.DirectBase ?? throw new InvalidOperationException("the container's published port is unknown");
        WrkTarget[] targets =
        [
            new('A', "own", Invariant($"own address {own.Authority}"), new Uri(own, "/echo"), [], false),
            new('B', "published", Invariant($"published port {published.Authority}"), new Uri(published, "/echo"), [], false),
            new('C', "pexec", "pexec", new Uri(emulatorUrl, $"/v2/nvcf/pexec/functions/{function.Id}"), [], true),
            new('D', "http", "HTTP invocation", new Uri(emulatorUrl, "/echo"), [$"function-id: {function.Id}"], true),
        ];
        var body = JsonBody(options.BodyBytes);
        var wrk = await Wrk.LocateAsync(options.WrkPath, body, cancellationToken);
        var threads = Math.Min(options.WrkThreads, options.Connections);
        Console.WriteLine($"A own:       POST {targets[0].Url}  (the container's bridge IP on {function.OwnNetwork}, no proxy)");
        Console.WriteLine($"B published: POST {targets[1].Url}  (Docker's published port, through docker-proxy)");
        Console.WriteLine($"C pexec:     POST {targets[2].Url}");
        Console.WriteLine($"D http:      POST {targets[3].Url}  with function-id: {function.Id}");
        Console.WriteLine($"body:        {body.Length} bytes of JSON; every target also gets Authorization: Bearer x and Content-Type: application/json");
        Console.WriteLine(Invariant($"load:        {wrk.Version}; latency -c1 -t1 --latency, throughput -c{options.Connections} -t{threads}; every answer must be a 200 with the body"));
        await CheckReachableAsync(own, cancellationToken);

        var cpu = await CpuMeter.CreateAsync(emulatorPid, function.ContainerId, published.Port, WrkSource, cancellationToken);
        if (cpu.Enabled)
        {
            Console.WriteLine($"cpu sources: {string.Join(", ", cpu.Names)}");
        }

        var results = targets.ToDictionary(t => t, _ => new Collected(cpu.Names.Count));
        var tolerated = 0L;

        async Task<WrkResult> RunAsync(WrkTarget target, int connections, TimeSpan duration, bool histogram, TimeSpan?[]? cpuTotal)
        {
            var before = cpu.Read();
            var result = await wrk.RunAsync(target, connections, connections == 1 ? 1 : threads, duration, histogram, cancellationToken);
            if (cpuTotal is not null)
            {
                TargetResults.Add(cpuTotal, CpuMeter.Delta(before, cpu.Read()));
            }

            tolerated += Check(target, result, connections);
            return result;
        }

        if (!options.Smoke)
        {
            var warmup = options.WarmupDuration;
            Console.WriteLine();
            Console.WriteLine(Invariant($"warm-up:     twice {warmup.TotalSeconds:0} s per target on {options.Connections} connections, then 1 s on 1 connection"));
            foreach (var (pass, connections, duration) in new[] { (0, options.Connections, warmup), (1, options.Connections, warmup), (2, 1, TimeSpan.FromSeconds(1)) })
            {
                foreach (var target in Order(pass, targets))
                {
                    await RunAsync(target, connections, duration, histogram: false, cpuTotal: null);
                }
            }
        }

        Console.WriteLine();
        for (var round = 0; round < options.Rounds; round++)
        {
            var order = Order(round, targets);
            var line = new StringBuilder(Invariant($"latency    round {round + 1}/{options.Rounds} {string.Concat(order.Select(t => t.Letter))}: p50 ms"));
            foreach (var target in order)
            {
                var collected = results[target];
                var result = await RunAsync(target, 1, options.Duration, histogram: true, collected.LatencyCpu);
                collected.Latency.Add(result);
                line.Append(Invariant($"  {target.Name} {result.P50Us / 1000:F3}"));
            }

            Console.WriteLine(line);
        }

        Console.WriteLine();
        for (var round = 0; round < options.Rounds; round++)
        {
            var order = Order(round, targets);
            var line = new StringBuilder(Invariant($"throughput round {round + 1}/{options.Rounds} {string.Concat(order.Select(t => t.Letter))}: req/s"));
            foreach (var target in order)
            {
                var collected = results[target];
                var result = await RunAsync(target, options.Connections, options.Duration, histogram: false, collected.ThroughputCpu);
                collected.Throughput.Add(result);
                line.Append(Invariant($"  {target.Name} {result.Rps:F0}"));
            }

            Console.WriteLine(line);
        }

        var rss = emulatorPid is { } pid ? CpuMeter.ResidentBytes(pid) : null;
        Console.WriteLine();
        Console.WriteLine($"load average at the end: {CpuMeter.LoadAverage()}");
        Console.Write(Print(options, threads, targets, results, cpu.Names, tolerated, rss));
        if (options.Profile && emulatorPid is { } profiled)
        {
            var profiler = await Profiler.LocateAsync(cancellationToken);
            foreach (var target in targets.Where(t => t.ThroughEmulator))
            {
                Console.WriteLine();
                Console.Write(await profiler.ProfileAsync(
                    profiled,
                    target.Label,
                    options.ProfileDuration,
                    () => RunAsync(target, options.Connections, options.ProfileDuration, histogram: false, cpuTotal: null),
                    cancellationToken));
            }
        }

        return 0;
    }

    /// <summary>
    /// Round orders: ABCD, DCBA, CDAB, BADC, then again. Every four rounds each target runs once in each place (first
    /// once, last once), so neither the pause before a round nor slow drift favours one.
    /// </summary>
    public static WrkTarget[] Order(int round, WrkTarget[] targets)
    {
        var shift = round / 2 * 2 % targets.Length;
        var rotated = targets.Skip(shift).Concat(targets.Take(shift));
        return [.. round % 2 == 0 ? rotated : rotated.Reverse()];
    }

    /// <summary>
    /// Fails the run unless every answer was a 200 with the body. Socket errors (connect, read, write, timeout) are
    /// tolerated up to one per connection, which is what the end of a duration can cut; returns how many there were.
    /// </summary>
    private static long Check(WrkTarget target, WrkResult result, int connections)
    {
        if (result.Bad > 0)
        {
            throw new InvalidOperationException(
                $"{target.Name} ({target.Url}): {result.Bad} of {result.Requests} answers were not a 200 with the body sent; the first: {result.FirstBad}");
        }

        if (result.SocketErrors > connections || result.Requests == 0)
        {
            throw new InvalidOperationException(
                $"{target.Name} ({target.Url}): {result.Requests} answers, and socket errors: {result.ConnectErrors} connect, {result.ReadErrors} read, {result.WriteErrors} write, {result.Timeouts} timeouts");
        }

        return result.SocketErrors;
    }

    /// <summary>The container's own address is reachable from here only when the engine runs on this machine.</summary>
    private static async Task CheckReachableAsync(Uri own, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await client.ConnectAsync(own.Host, own.Port, timeout.Token);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new InvalidOperationException(
                $"the container's own address {own.Authority} cannot be reached from here ({e.Message}): the Docker engine must run on this machine (not in a VM or behind DOCKER_HOST) for target A", e);
        }
    }

    private static string Print(
        BenchOptions options, int threads, WrkTarget[] targets, Dictionary<WrkTarget, Collected> results, IReadOnlyList<string> cpuNames, long tolerated, long? rss)
    {
        var (a, b, c, d) = (results[targets[0]], results[targets[1]], results[targets[2]], results[targets[3]]);
        var emulator = IndexOf(cpuNames, "emulator");
        var wrkIndex = IndexOf(cpuNames, WrkSource);
        var machine = IndexOf(cpuNames, "machine");
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine(Invariant(
            $"== Results (wrk): {options.Rounds} round{(options.Rounds == 1 ? string.Empty : "s")} per target, orders {string.Join(' ', Enumerable.Range(0, Math.Min(4, options.Rounds)).Select(r => string.Concat(Order(r, targets).Select(t => t.Letter))))}; {Seconds(options)} s per round; latency -c1 -t1, throughput -c{options.Connections} -t{threads} =="));
        sb.AppendLine();
        Row(sb, "latency, 1 connection", "p50 ms", "p99 ms", "p50/round", "requests", "emu us/req");
        foreach (var target in targets)
        {
            var r = results[target];
            Row(
                sb,
                $"  {target.Letter} {target.Label}",
                Invariant($"{r.LatencyPercentileMs(50):F3}"),
                Invariant($"{r.LatencyPercentileMs(99):F3}"),
                Span(r.Latency.Select(x => x.P50Us / 1000), "F3"),
                Invariant($"{r.Latency.Sum(x => x.Requests)}"),
                target.ThroughEmulator ? PerRequest(r.LatencyCpu, emulator, r.Latency.Sum(x => x.Requests)) : "-");
        }

        sb.AppendLine();
        Row(sb, Invariant($"throughput, {options.Connections} connections"), "req/s", "req/s/round", "emu us/req", "wrk CPU", "machine CPU");
        foreach (var target in targets)
        {
            var r = results[target];
            Row(
                sb,
                $"  {target.Letter} {target.Label}",
                Invariant($"{r.Rps:F0}"),
                Span(r.Throughput.Select(x => x.Rps), "F0"),
                target.ThroughEmulator ? PerRequest(r.ThroughputCpu, emulator, r.ThroughputRequests) : "-",
                Share(r.ThroughputCpu, wrkIndex, r.ThroughputTime, 1),
                Share(r.ThroughputCpu, machine, r.ThroughputTime, Environment.ProcessorCount));
        }

        if (cpuNames.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(Invariant($"CPU per request at {options.Connections} connections (us; /proc, 10 ms ticks; 'machine' is every process and the kernel; CPU columns above: wrk in % of one core, machine in % of all {Environment.ProcessorCount}):"));
            Row(sb, "  source", [.. targets.Select(t => $"{t.Letter} {t.Name}")]);
            for (var i = 0; i < cpuNames.Count; i++)
            {
                Row(sb, "  " + cpuNames[i], [.. targets.Select(t => PerRequest(results[t].ThroughputCpu, i, results[t].ThroughputRequests))]);
            }
        }

        sb.AppendLine();
        sb.AppendLine(Invariant($"answers: every one a 200 with the body; socket errors at the end of a duration: {tolerated}"));
        sb.AppendLine(rss is { } bytes ? Invariant($"emulator RSS after the run: {bytes / 1048576.0:F1} MiB") : "emulator RSS after the run: not measured (the emulator was not started here)");
        sb.AppendLine();
        if (options.Smoke)
        {
            sb.AppendLine("smoke run: goals not judged");
            return sb.ToString();
        }

        foreach (var (name, through) in new[] { ("pexec", c), ("HTTP invocation", d) })
        {
            Goal(sb, $"{name} req/s at {options.Connections} connections ≥ {PublishedRatioGoal:0.0} × published port", through.Rps / b.Rps, PublishedRatioGoal, higherIsBetter: true, Invariant($"{through.Rps / b.Rps:F2} × ({through.Rps:F0} vs {b.Rps:F0} req/s)"));
            Goal(sb, $"{name} req/s at {options.Connections} connections ≥ {OwnRatioGoal:0.0} × container's own address", through.Rps / a.Rps, OwnRatioGoal, higherIsBetter: true, Invariant($"{through.Rps / a.Rps:F2} × ({through.Rps:F0} vs {a.Rps:F0} req/s)"));
            var added = through.LatencyPercentileMs(50) - a.LatencyPercentileMs(50);
            Goal(sb, $"{name} added p50 at 1 connection ≤ {AddedP50GoalMs} ms", added, AddedP50GoalMs, higherIsBetter: false, Invariant($"{added:F3} ms ({through.LatencyPercentileMs(50):F3} - {a.LatencyPercentileMs(50):F3})"));
            if (through == c)
            {
                var perPexec = emulator >= 0 && c.ThroughputCpu[emulator] is { } used && c.ThroughputRequests > 0 ? used.TotalMicroseconds / c.ThroughputRequests : (double?)null;
                if (perPexec is { } us)
                {
                    Goal(sb, $"emulator CPU per pexec ≤ {EmulatorCpuGoalUs:0} µs", us, EmulatorCpuGoalUs, higherIsBetter: false, Invariant($"{us:F0} µs (at {options.Connections} connections)"));
                }
                else
                {
                    sb.AppendLine($"emulator CPU per pexec ≤ {EmulatorCpuGoalUs:0} µs: not measured (the emulator was not started here) NOT MET");
                }
            }
        }

        return sb.ToString();
    }

    private static void Goal(StringBuilder sb, string goal, double value, double limit, bool higherIsBetter, string measured)
    {
        var met = higherIsBetter ? value >= limit : value <= limit;
        sb.AppendLine(Invariant($"{goal}: {measured} {(met ? "MET" : "NOT MET")}"));
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Seconds(BenchOptions options) => Math.Max(1, Math.Ceiling(options.Duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static string PerRequest(TimeSpan?[] cpu, int index, long requests) =>
        index >= 0 && cpu[index] is { } used && requests > 0 ? Invariant($"{used.TotalMicroseconds / requests:F1}") : "-";

    private static string Share(TimeSpan?[] cpu, int index, TimeSpan elapsed, int cores) =>
        index >= 0 && cpu[index] is { } used && elapsed > TimeSpan.Zero ? Invariant($"{100 * used / elapsed / cores:F0}%") : "-";

    private static string Span(IEnumerable<double> values, string format)
    {
        var list = values.ToList();
        return list.Count == 0 ? "-" : list.Min().ToString(format, CultureInfo.InvariantCulture) + "-" + list.Max().ToString(format, CultureInfo.InvariantCulture);
    }

    private static void Row(StringBuilder sb, string label, params string[] columns)
    {
        sb.Append(label.PadRight(38));
        foreach (var column in columns)
        {
            sb.Append(column.PadLeft(14));
        }

        sb.AppendLine();
    }

    /// <summary>One target's measured rounds (warm-up excluded).</summary>
    private sealed class Collected(int cpuSources)
    {
        public List<WrkResult> Latency { get; } = [];

        public List<WrkResult> Throughput { get; } = [];

        public TimeSpan?[] LatencyCpu { get; } = new TimeSpan?[cpuSources];

        public TimeSpan?[] ThroughputCpu { get; } = new TimeSpan?[cpuSources];

        public long ThroughputRequests => Throughput.Sum(r => r.Requests);

        public TimeSpan ThroughputTime => TimeSpan.FromTicks(Throughput.Sum(r => r.Duration.Ticks));

        public double Rps => ThroughputRequests / ThroughputTime.TotalSeconds;

        /// <summary>Nearest-rank percentile over every latency round's requests, from wrk's µs histograms merged.</summary>
        public double LatencyPercentileMs(double percentile)
        {
            var merged = new SortedDictionary<long, long>();
            foreach (var (us, count) in Latency.SelectMany(r => r.Histogram))
            {
                merged[us] = merged.GetValueOrDefault(us) + count;
            }

            var total = merged.Values.Sum();
            var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100 * total));
            var seen = 0L;
            foreach (var (us, count) in merged)
            {
                seen += count;
                if (seen >= rank)
                {
                    return us / 1000.0;
                }
            }

            return double.NaN;
        }
    }
}
