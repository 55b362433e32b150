using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using static Nvcf.Benchmarks.Invocation.Report;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// The cost of the emulator's invocation paths: one echo function (one instance), deployed through the emulator
/// and hit in alternating rounds after a warm-up, so that noise on the machine falls on every target alike.
/// By default wrk loads four targets (<see cref="WrkBench"/>: the container's own address, its published port, pexec
/// and HTTP invocation); with <c>--client dotnet</c> the harness's own client loads two (the published port and
/// pexec). Latency: one connection. Throughput: fixed-length rounds on many connections. See README.md.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }

        using var stop = new CancellationTokenSource();
        var session = new Session(options);
        Console.CancelKeyPress += (_, e) =>
        {
            if (!stop.IsCancellationRequested)
            {
                // First Ctrl+C: stop measuring and clean up. A second one ends the process (the exit hook kills the emulator).
                e.Cancel = true;
                Console.Error.WriteLine("bench: interrupted, cleaning up (Ctrl+C again to quit at once)");
                stop.Cancel();
            }
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        AppDomain.CurrentDomain.ProcessExit += (_, _) => session.Emulator?.KillNow();

        try
        {
            return await session.RunAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench: interrupted");
            return 130;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("bench: error: a request or a round took far longer than it should have (watchdog); is the machine overloaded?");
            return 1;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or IOException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"bench: error: {e.Message}");
            return 1;
        }
    }

    private sealed class Session(BenchOptions options)
    {
        public EmulatorHost? Emulator { get; private set; }

        public async Task<int> RunAsync(CancellationToken cancellationToken)
        {
            PrintHeader();
            try
            {
                await Docker.RunAsync(["image", "inspect", "--format", "{{.Id}}", options.Image], cancellationToken);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                throw new InvalidOperationException(
                    $"image {options.Image} is missing or Docker is not reachable ({e.Message}); eng/bench.sh builds nvcf-bench/native-echo, eng/setup.sh the samples", e);
            }

            Uri emulatorUrl;
            if (options.Emulator is { } given)
            {
                emulatorUrl = given;
                Console.WriteLine($"emulator:    {emulatorUrl} (given)");
            }
            else
            {
                var repo = options.RepoRoot ?? FindRepoRoot() ?? throw new InvalidOperationException("cannot find the repository root (Emulator/Emulator.csproj); pass --repo DIR");
                var environment = options.Profile ? new Dictionary<string, string>([.. options.EmulatorEnvironment, .. Profiler.EmulatorEnvironment]) : options.EmulatorEnvironment;
                Emulator = await EmulatorHost.StartAsync(repo, [.. options.ModeEmulatorArgs(), .. options.EmulatorArgs], environment, cancellationToken);
                emulatorUrl = Emulator.BaseAddress;
                Console.WriteLine($"emulator:    {emulatorUrl} ({Emulator.Describe})");
                if (options.EmulatorArgs.Count + options.EmulatorEnvironment.Count > 0)
                {
                    Console.WriteLine($"             variant: {string.Join(' ', options.EmulatorEnvironment.Select(e => e.Key + "=" + e.Value).Concat(options.EmulatorArgs))}");
                }
            }

            using var api = EchoFunction.CreateApiClient(emulatorUrl);
            EchoFunction? function = null;
            try
            {
                var deploying = Stopwatch.StartNew();
                function = await EchoFunction.CreateAsync(api, options.Image, cancellationToken);
                var slots = options.Pending ?? options.MaxRequestConcurrency;
                await function.DeployAsync(slots, TimeSpan.FromMinutes(3), cancellationToken);
                await function.FindContainerAsync(cancellationToken);
                Console.WriteLine(Invariant($"function:    {function.Id} version {function.VersionId}, ACTIVE after {deploying.Elapsed.TotalSeconds:F1} s, maxRequestConcurrency {slots}, 1 instance"));
                Console.WriteLine($"container:   {function.ContainerId![..12]} ({options.Image}) inference port published at {function.DirectBase}, own address {function.OwnBase?.ToString() ?? "none"}");
                var exitCode = options.Pending is { } pending
                    ? await PendingLoad.RunAsync(emulatorUrl, function, pending, options, Emulator?.EmulatorPid, cancellationToken)
                    : options.Scale
                        ? await ScaleBench.RunAsync(options, api, emulatorUrl, function, Emulator?.EmulatorPid, cancellationToken)
                        : options.Client == LoadClient.Wrk
                            ? await WrkBench.RunAsync(options, emulatorUrl, function, Emulator?.EmulatorPid, cancellationToken)
                            : await MeasureAsync(emulatorUrl, function, cancellationToken);
                if (exitCode != 0)
                {
                    await function.ExplainContainerLossAsync();
                    if (Emulator is not null)
                    {
                        Emulator.KeepLog = true;
                        Console.Error.WriteLine($"emulator log kept: {Emulator.LogPath}");
                    }
                }

                return exitCode;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (function is not null)
                {
                    await function.ExplainContainerLossAsync();
                }

                if (Emulator is not null)
                {
                    Emulator.KeepLog = true;
                    Console.Error.WriteLine($"emulator log ({Emulator.LogPath}) ends with:\n{Emulator.LogTail(20)}");
                }

                throw;
            }
            finally
            {
                if (function is not null)
                {
                    await function.DeleteAsync(TimeSpan.FromSeconds(30));
                }

                if (Emulator is not null)
                {
                    await Emulator.DisposeAsync();
                }

                if (function is not null)
                {
                    await function.RemoveLeftoverContainersAsync();
                }
            }
        }

        private async Task<int> MeasureAsync(Uri emulatorUrl, EchoFunction function, CancellationToken cancellationToken)
        {
            var body = JsonBody(options.BodyBytes);
            using var direct = new Target("direct", new Uri(function.DirectBase!, "/echo"), body, options.Connections);
            using var pexec = new Target("pexec", new Uri(emulatorUrl, $"/v2/nvcf/pexec/functions/{function.Id}"), body, options.Connections);
            Console.WriteLine($"direct:      POST {direct.Url}");
            Console.WriteLine($"pexec:       POST {pexec.Url}");
            Console.WriteLine($"body:        {body.Length} bytes of JSON");

            await CheckEchoAsync(direct, pexec, body, cancellationToken);
            var cpu = await CpuMeter.CreateAsync(Emulator?.EmulatorPid, function.ContainerId, function.DirectBase!.Port, null, cancellationToken);
            if (cpu.Enabled)
            {
                Console.WriteLine($"cpu sources: {string.Join(", ", cpu.Names)}");
            }

            var results = new Dictionary<Target, TargetResults>
            {
                [direct] = new TargetResults(direct.Name, options.Rounds, options.Requests, cpu.Names.Count),
                [pexec] = new TargetResults(pexec.Name, options.Rounds, options.Requests, cpu.Names.Count),
            };

            // Warm-up, alternating: full concurrency first (opens every connection, and gets the hot paths of all three
            // processes through tiered JIT), then sequential requests in small chunks.
            Console.WriteLine();
            Console.WriteLine(Invariant($"warm-up:     {2 * options.WarmupDuration.TotalSeconds:0.#} s per target on {options.Connections} connections, then {options.WarmupRequests} sequential requests per target"));
            for (var pass = 0; pass < 2; pass++)
            {
                foreach (var target in new[] { direct, pexec })
                {
                    await target.RunConcurrentAsync(options.Connections, options.WarmupDuration, cancellationToken);
                }
            }

            for (var done = 0; done < options.WarmupRequests; done += 100)
            {
                foreach (var target in new[] { direct, pexec })
                {
                    await target.RunSequentialAsync(Math.Min(100, options.WarmupRequests - done), null, 0, cancellationToken);
                }
            }

            for (var round = 0; round < options.Rounds; round++)
            {
                var line = new StringBuilder(Invariant($"latency    round {round + 1}/{options.Rounds}:"));
                foreach (var target in Order(round, direct, pexec))
                {
                    var result = results[target];
                    var offset = round * options.Requests;
                    using var watchdog = Watchdog(TimeSpan.FromSeconds(30 + (options.Requests * 0.1)), cancellationToken);
                    var before = cpu.Read();
                    await target.RunSequentialAsync(options.Requests, result.LatencyTicks, offset, watchdog.Token);
                    TargetResults.Add(result.LatencyCpu, CpuMeter.Delta(before, cpu.Read()));
                    var p50 = P50Ms(result.LatencyTicks.AsSpan(offset, options.Requests));
                    result.RoundP50Ms.Add(p50);
                    line.Append(Invariant($"  {target.Name} p50 {p50:F3} ms"));
                }

                line.Append(Invariant($"  added {results[pexec].RoundP50Ms[^1] - results[direct].RoundP50Ms[^1]:+0.000;-0.000} ms"));
                Console.WriteLine(line);
            }

            // Throughput: fixed-length rounds, every connection already open.
            Console.WriteLine();
            for (var round = 0; round < options.Rounds; round++)
            {
                var line = new StringBuilder(Invariant($"throughput round {round + 1}/{options.Rounds}:"));
                foreach (var target in Order(round, direct, pexec))
                {
                    var result = results[target];
                    using var watchdog = Watchdog(options.Duration + TimeSpan.FromSeconds(60), cancellationToken);
                    var before = cpu.Read();
                    var (completed, elapsed) = await target.RunConcurrentAsync(options.Connections, options.Duration, watchdog.Token);
                    var used = CpuMeter.Delta(before, cpu.Read());
                    TargetResults.Add(result.ThroughputCpu, used);
                    result.ThroughputRequests += completed;
                    result.ThroughputTime += elapsed;
                    result.RoundRps.Add(completed / elapsed.TotalSeconds);
                    line.Append(Invariant($"  {target.Name} {completed / elapsed.TotalSeconds,7:F0} req/s"));
                    if (used[^1] is { } machine)
                    {
                        line.Append(Invariant($" (cpu {machine.TotalSeconds / elapsed.TotalSeconds / Environment.ProcessorCount:P0})"));
                    }
                }

                line.Append(Invariant($"  ratio {results[pexec].RoundRps[^1] / results[direct].RoundRps[^1]:F3}"));
                Console.WriteLine(line);
            }

            Console.WriteLine();
            Console.WriteLine($"load average at the end: {CpuMeter.LoadAverage()}");
            Console.Write(Print(options, results[direct], results[pexec], cpu.Names, direct.Errors, pexec.Errors));

            if (direct.Errors + pexec.Errors > 0)
            {
                Console.Error.WriteLine();
                Console.Error.WriteLine($"bench: FAILED: {direct.Errors} direct and {pexec.Errors} pexec requests failed; first: {direct.FirstError ?? pexec.FirstError}");
                return 1;
            }

            return 0;
        }

        private void PrintHeader()
        {
            var cores = Environment.ProcessorCount;
            var wrk = options.Client == LoadClient.Wrk && options.Pending is null;
            Console.WriteLine(
                options.Scale ? "== NVCF emulator scale benchmark (wrk): deploy to ACTIVE against a direct container start, pexec with one function against pexec with many =="
                : options.Pending is { } pending ? Invariant($"== NVCF emulator pending benchmark: {pending} asynchronous invocations pending at once, each polled to its end ==")
                : wrk ? "== NVCF emulator invocation benchmark (wrk): the container's own address, its published port, pexec and HTTP invocation =="
                : "== NVCF emulator invocation benchmark (.NET client): pexec vs. the same container on its published port ==");
            Console.WriteLine(Invariant($"cores:       {cores} (shared by the load generator, the emulator and the container{(cores <= 4 ? "; few cores penalise the proxy path, which needs CPU in one more process" : string.Empty)})"));
            Console.WriteLine($"machine:     {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}, load average {CpuMeter.LoadAverage()}");
            Console.WriteLine(wrk
                ? Invariant($"settings:    --client wrk --rounds {options.Rounds} --duration {Math.Max(1, Math.Ceiling(options.Duration.TotalSeconds))} --connections {options.Connections} --wrk-threads {options.WrkThreads}{(options.Smoke ? " --smoke" : string.Empty)}")
                : Invariant($"settings:    --client dotnet --rounds {options.Rounds} --requests {options.Requests} --duration {options.Duration.TotalSeconds:0.#} --connections {options.Connections}{(options.Smoke ? " --smoke" : string.Empty)}"));
        }

        /// <summary>One request each way, checked byte for byte, before anything is timed.</summary>
        private static async Task CheckEchoAsync(Target direct, Target pexec, byte[] body, CancellationToken cancellationToken)
        {
            foreach (var target in new[] { direct, pexec })
            {
                var buffer = target.RentBuffer();
                try
                {
                    using var timeout = Watchdog(TimeSpan.FromSeconds(30), cancellationToken);
                    var read = await target.SendAsync(buffer, timeout.Token);
                    if (read < 0 || !buffer.AsSpan(0, read).SequenceEqual(body))
                    {
                        throw new InvalidOperationException($"{target.Name} ({target.Url}) did not echo the body: {target.FirstError ?? Encoding.UTF8.GetString(buffer, 0, Math.Max(0, read))}");
                    }
                }
                finally
                {
                    Target.ReturnBuffer(buffer);
                }
            }
        }

        /// <summary>Direct first in even rounds, pexec first in odd ones: neither always runs right after a pause.</summary>
        private static Target[] Order(int round, Target direct, Target pexec) => round % 2 == 0 ? [direct, pexec] : [pexec, direct];

        private static CancellationTokenSource Watchdog(TimeSpan limit, CancellationToken cancellationToken)
        {
            var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(limit);
            return cts;
        }

        private static string? FindRepoRoot()
        {
            foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            {
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                {
                    if (File.Exists(Path.Combine(dir.FullName, "Emulator", "Emulator.csproj")))
                    {
                        return dir.FullName;
                    }
                }
            }

            return null;
        }
    }
}
