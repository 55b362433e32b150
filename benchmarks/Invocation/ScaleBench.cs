using System.Diagnostics;
using System.Globalization;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using static Nvcf.Benchmarks.Invocation.Report;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// <c>--scale</c>: what a deployment and many deployed functions cost, each against its baseline in the same run.
/// <list type="number">
/// <item>Deploy to ACTIVE: a new version of an image whose container listens at once, deployed through the emulator and
/// polled every 5 ms, against the same image started straight through the engine's API (create, start, inspect, then
/// the first 200 from its health path at its bridge address, tried every 2 ms); trials alternate. Goal: the emulator's
/// median at most the direct median + 100 ms.</item>
/// <item>Routing among many functions: pexec on --connections connections to the measured echo function, first with it
/// alone, then with --scale-functions more functions of two deployed versions each (minInstances 0: no container,
/// but a route, a pool and a supervisor each), then alone again, in rounds ordered one, many, many, one. Goal: the
/// emulator's CPU per pexec with the many at most 1.1 × with one.</item>
/// </list>
/// </summary>
internal static class ScaleBench
{
    /// <summary>Goal: deploy to ACTIVE at most this much over the direct start's median.</summary>
    public const double DeployOverheadGoalMs = 100;

    /// <summary>Goal: the emulator's CPU per pexec with many functions at most this times with one.</summary>
    public const double RoutingCostGoalRatio = 1.10;

    private const int HealthPollMs = 2;

    public static async Task<int> RunAsync(BenchOptions options, HttpClient api, Uri emulatorUrl, EchoFunction function, int? emulatorPid, CancellationToken cancellationToken)
    {
        var (direct, emulated) = await MeasureDeployAsync(options, api, function, cancellationToken);
        var (one, many) = await MeasureRoutingAsync(options, api, emulatorUrl, function, emulatorPid, cancellationToken);

        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("== Results (scale) ==");
        sb.AppendLine();
        Row(sb, "deploy to ACTIVE", "median ms", "min-max ms");
        Row(sb, "  direct (engine API, health 200)", Invariant($"{Median(direct):F0}"), Invariant($"{direct.Min():F0}-{direct.Max():F0}"));
        Row(sb, "  emulator (POST deployment, ACTIVE)", Invariant($"{Median(emulated):F0}"), Invariant($"{emulated.Min():F0}-{emulated.Max():F0}"));
        sb.AppendLine();
        Row(sb, Invariant($"pexec at {options.Connections} connections"), "req/s", "emu us/req", "requests");
        Row(sb, "  1 function", Invariant($"{one.Rps:F0}"), one.CpuText, Invariant($"{one.Requests}"));
        Row(sb, Invariant($"  {options.ScaleFunctions + 1} functions ({2 * options.ScaleFunctions + 1} versions)"), Invariant($"{many.Rps:F0}"), many.CpuText, Invariant($"{many.Requests}"));
        sb.AppendLine();
        if (options.Smoke)
        {
            sb.AppendLine("smoke run: goals not judged");
        }
        else
        {
            var added = Median(emulated) - Median(direct);
            Goal(sb, $"deploy to ACTIVE ≤ direct container start + {DeployOverheadGoalMs:0} ms", added <= DeployOverheadGoalMs, Invariant($"{added:+0;-0} ms ({Median(emulated):F0} vs {Median(direct):F0} ms, medians of {direct.Count})"));
            if (one.CpuUs is { } oneUs && many.CpuUs is { } manyUs)
            {
                Goal(sb, Invariant($"emulator CPU per pexec with {options.ScaleFunctions + 1} functions ≤ {RoutingCostGoalRatio:0.00} × with 1"), manyUs / oneUs <= RoutingCostGoalRatio, Invariant($"{manyUs / oneUs:F2} × ({manyUs:F0} vs {oneUs:F0} µs; req/s {many.Rps / one.Rps:F2} ×)"));
            }
            else
            {
                sb.AppendLine("emulator CPU per pexec with many functions: not measured (the emulator was not started here) NOT MET");
            }
        }

        Console.Write(sb);
        return 0;
    }

    private static async Task<(List<double> Direct, List<double> Emulated)> MeasureDeployAsync(BenchOptions options, HttpClient api, EchoFunction function, CancellationToken cancellationToken)
    {
        var network = function.OwnNetwork ?? "bridge";
        var trials = options.Smoke ? 1 : options.DeployTrials;
        using var docker = DockerClient();
        using var probe = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) }) { Timeout = TimeSpan.FromSeconds(2) };
        Console.WriteLine();
        Console.WriteLine(Invariant($"deploy:      {trials} alternating trials: {options.Image} started through the engine's API on {network} until GET :8000/v2/health/ready answers 200 (tried every {HealthPollMs} ms), and a new version of it deployed through the emulator until ACTIVE (polled every 5 ms)"));
        if (!options.Smoke)
        {
            // Once each way, not counted: the first of each pays for the JIT on both sides.
            await StartDirectlyAsync(docker, probe, options.Image, network, cancellationToken);
            await DeployThroughEmulatorAsync(api, options.Image, cancellationToken);
        }

        var direct = new List<double>();
        var emulated = new List<double>();
        for (var trial = 0; trial < trials; trial++)
        {
            foreach (var throughEmulator in trial % 2 == 0 ? new[] { false, true } : [true, false])
            {
                if (throughEmulator)
                {
                    emulated.Add(await DeployThroughEmulatorAsync(api, options.Image, cancellationToken));
                }
                else
                {
                    direct.Add(await StartDirectlyAsync(docker, probe, options.Image, network, cancellationToken));
                }
            }

            Console.WriteLine(Invariant($"deploy     trial {trial + 1}/{trials}: direct {direct[^1],6:F0} ms  emulator {emulated[^1],6:F0} ms"));
        }

        return (direct, emulated);
    }

    /// <summary>Create, start and inspect through the engine's API, then the health path until 200: what the container itself takes.</summary>
    private static async Task<double> StartDirectlyAsync(DockerClient docker, HttpClient probe, string image, string network, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var created = await docker.Containers.CreateContainerAsync(
            new CreateContainerParameters
            {
                Image = image,
                Name = "nvcf-bench-direct-" + Guid.NewGuid().ToString("N")[..8],
                Labels = new Dictionary<string, string> { ["nvcf-bench"] = "direct-start" },
                ExposedPorts = new Dictionary<string, EmptyStruct> { ["8000/tcp"] = default },
                HostConfig = new HostConfig
                {
                    NetworkMode = network,
                    PortBindings = new Dictionary<string, IList<PortBinding>> { ["8000/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = string.Empty }] },
                },
            },
            cancellationToken);
        try
        {
            await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellationToken);
            var inspected = await docker.Containers.InspectContainerAsync(created.ID, cancellationToken);
            var ip = (inspected.NetworkSettings?.Networks is { } networks && networks.TryGetValue(network, out var endpoint) ? endpoint.IPAddress : null)
                ?? throw new InvalidOperationException($"the container started directly has no address on {network}");
            var health = new Uri($"http://{ip}:8000/v2/health/ready");
            while (true)
            {
                try
                {
                    using var answer = await probe.GetAsync(health, cancellationToken);
                    if (answer.IsSuccessStatusCode)
                    {
                        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    }
                }
                catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    // Not listening yet.
                }

                if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"{image} started directly did not answer {health} with 200 within 60 s");
                }

                await Task.Delay(HealthPollMs, cancellationToken);
            }
        }
        finally
        {
            await docker.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
        }
    }

    /// <summary>A new function (not timed), its deployment to ACTIVE (timed), then its deletion and its container's removal (not timed).</summary>
    private static async Task<double> DeployThroughEmulatorAsync(HttpClient api, string image, CancellationToken cancellationToken)
    {
        var function = await EchoFunction.CreateAsync(api, image, cancellationToken);
        try
        {
            return (await function.DeployAsync(1, TimeSpan.FromSeconds(60), cancellationToken, pollEvery: TimeSpan.FromMilliseconds(5))).TotalMilliseconds;
        }
        finally
        {
            await function.DeleteAsync(TimeSpan.FromSeconds(30));
            await function.WaitForNoContainerAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
    }

    private static async Task<(Load One, Load Many)> MeasureRoutingAsync(
        BenchOptions options, HttpClient api, Uri emulatorUrl, EchoFunction function, int? emulatorPid, CancellationToken cancellationToken)
    {
        var body = JsonBody(options.BodyBytes);
        var wrk = await Wrk.LocateAsync(options.WrkPath, body, cancellationToken);
        var target = new WrkTarget('C', "pexec", "pexec", new Uri(emulatorUrl, $"/v2/nvcf/pexec/functions/{function.Id}"), [], true);
        var cpu = await CpuMeter.CreateAsync(emulatorPid, null, null, "wrk", cancellationToken);
        var emulator = IndexOfEmulator(cpu.Names);
        var threads = Math.Min(options.WrkThreads, options.Connections);
        var one = new Load();
        var many = new Load();
        Console.WriteLine();
        Console.WriteLine(Invariant($"routing:     wrk -c{options.Connections} -t{threads} on pexec of {function.Id}, {Seconds(options)} s per round, with it alone and with {options.ScaleFunctions} more functions of two deployed versions each (minInstances 0), rounds one, many, many, one"));

        async Task RoundAsync(Load load, string name)
        {
            var before = cpu.Read();
            var result = await wrk.RunAsync(target, options.Connections, threads, options.Duration, histogram: false, cancellationToken);
            var used = CpuMeter.Delta(before, cpu.Read());
            if (result.Bad > 0 || result.Requests == 0 || result.SocketErrors > options.Connections)
            {
                throw new InvalidOperationException(Invariant($"pexec with {name}: {result.Requests} answers, {result.Bad} not a 200 with the body (first: {result.FirstBad}), {result.SocketErrors} socket errors"));
            }

            load.Add(result, emulator >= 0 ? used[emulator] : null);
            Console.WriteLine(Invariant($"routing    round with {name}: {result.Rps,7:F0} req/s{(emulator >= 0 && used[emulator] is { } u ? $", emulator {u.TotalMicroseconds / result.Requests:F0} us/req" : string.Empty)}"));
        }

        if (!options.Smoke)
        {
            await wrk.RunAsync(target, options.Connections, threads, options.WarmupDuration, histogram: false, cancellationToken);
        }

        await RoundAsync(one, "1 function");
        var others = new List<EchoFunction>();
        try
        {
            var created = Stopwatch.StartNew();
            await CreateOthersAsync(api, options, others, cancellationToken);
            Console.WriteLine(Invariant($"routing:     {others.Count} versions of {options.ScaleFunctions} functions created and deployed (ACTIVE, minInstances 0) in {created.Elapsed.TotalSeconds:F1} s"));
            var name = Invariant($"{options.ScaleFunctions + 1} functions");
            await RoundAsync(many, name);
            if (!options.Smoke)
            {
                await RoundAsync(many, name);
            }
        }
        finally
        {
            await Parallel.ForEachAsync(others, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (version, _) => await version.DeleteAsync(TimeSpan.FromSeconds(30)));
        }

        if (!options.Smoke)
        {
            await RoundAsync(one, "1 function");
        }

        return (one, many);
    }

    /// <summary>The other functions: two versions each, both deployed with minInstances 0, eight API calls at a time.</summary>
    private static async Task CreateOthersAsync(HttpClient api, BenchOptions options, List<EchoFunction> others, CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(
            Enumerable.Range(0, options.ScaleFunctions),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (_, token) =>
            {
                var first = await EchoFunction.CreateAsync(api, options.Image, token);
                lock (others)
                {
                    others.Add(first);
                }

                var second = await first.AddVersionAsync(options.Image, token);
                lock (others)
                {
                    others.Add(second);
                }

                foreach (var version in new[] { first, second })
                {
                    await version.DeployAsync(1, TimeSpan.FromSeconds(60), token, minInstances: 0, pollEvery: TimeSpan.FromMilliseconds(20));
                }
            });

    private static DockerClient DockerClient()
    {
        var builder = new DockerClientBuilder();
        return Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? builder.WithEndpoint(new Uri(host)).Build() : builder.Build();
    }

    private static int IndexOfEmulator(IReadOnlyList<string> names)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == "emulator")
            {
                return i;
            }
        }

        return -1;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Seconds(BenchOptions options) => Math.Max(1, Math.Ceiling(options.Duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static void Goal(StringBuilder sb, string goal, bool met, string measured) => sb.AppendLine($"{goal}: {measured} {(met ? "MET" : "NOT MET")}");

    private static void Row(StringBuilder sb, string label, params string[] columns)
    {
        sb.Append(label.PadRight(44));
        foreach (var column in columns)
        {
            sb.Append(column.PadLeft(14));
        }

        sb.AppendLine();
    }

    /// <summary>wrk rounds against one state of the emulator, summed.</summary>
    private sealed class Load
    {
        private TimeSpan? _cpu = TimeSpan.Zero;

        public long Requests { get; private set; }

        public TimeSpan Time { get; private set; }

        public double Rps => Requests / Time.TotalSeconds;

        public double? CpuUs => _cpu is { } used && Requests > 0 ? used.TotalMicroseconds / Requests : null;

        public string CpuText => CpuUs is { } us ? Invariant($"{us:F1}") : "-";

        public void Add(WrkResult result, TimeSpan? emulatorCpu)
        {
            Requests += result.Requests;
            Time += result.Duration;
            _cpu = _cpu is { } sum && emulatorCpu is { } used ? sum + used : null;
        }
    }
}
