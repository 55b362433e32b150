using System.Globalization;
using static Nvcf.Benchmarks.Invocation.Report;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>The load generator: wrk against four targets, or the harness's own .NET client against two.</summary>
internal enum LoadClient
{
    /// <summary>wrk (the default): the container's own address, its published port, pexec and HTTP invocation.</summary>
    Wrk,

    /// <summary>The .NET client of <see cref="Target"/>: the published port and pexec.</summary>
    Dotnet,
}

/// <summary>Command-line options of the benchmark.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Usage: Invocation.Benchmarks [options]
          --client wrk|dotnet the load generator (default wrk): wrk against the container's own address, its
                              published port, pexec and HTTP invocation; dotnet: this harness's own client against
                              the published port and pexec (for machines without wrk)
          --smoke             the same flow with tiny durations (one round of 1 s per target and test, no warm-up),
                              to check that the harness works; no goal is judged
          --rounds N          measured rounds per target and test (default 4 with wrk, 5 with dotnet)
          --requests N        dotnet: sequential requests per latency round, 1 connection (default 2000)
          --duration S        seconds per round (default 4; wrk takes whole seconds)
          --connections N     concurrent connections in the throughput test (default 32)
          --wrk-threads N     wrk's threads in the throughput test (default 2)
          --wrk PATH          the wrk executable (default: wrk on PATH)
          --emulator URL      use a running emulator instead of starting one (it must drive the local Docker engine)
          --body-bytes N      size of the JSON body sent (default 100)
          --image IMAGE       echo image to deploy (default nvcf-samples/echo:latest; eng/bench.sh passes its native
                              echo, nvcf-bench/native-echo:<hash>, to the wrk client)
          --emulator-arg ARG  extra argument for the emulator this harness starts (repeatable),
                              e.g. --emulator-arg --Logging:LogLevel:Default=Warning
          --profile           wrk: after the rounds, profile the emulator with perf during one more throughput run of
                              pexec and of HTTP invocation (10 s each; 1 s with --smoke): its CPU by binary, by system
                              call and its hottest functions (eng/bench.sh installs perf when it is missing)
          --emulator-env N=V  extra environment variable for that emulator (repeatable), e.g. OTEL_SDK_DISABLED=true
          --repo DIR          repository root (default: found from the current directory or the harness's own path)
          --pending N         instead of timing: N asynchronous pexec requests pending at once (N slots, 1 s window,
                              the function holds each --delay-ms), each followed to its end through /pexec/status;
                              counts answers that are the request's own, another's, or anything else, and the
                              emulator's memory per pending request
          --delay-ms N        how long the function holds each request in --pending mode (default: 3 ms per
                              request, at least 10 s; 3 s with --smoke)
          --scale             instead of the four targets (wrk): deploy to ACTIVE against a direct container start,
                              and pexec with the measured function alone against pexec with --scale-functions more
                              functions of two deployed versions each
          --scale-functions N the other functions in --scale mode (default 199: 200 functions, 399 versions)
          --deploy-trials N   deploy-to-ACTIVE trials each way in --scale mode (default 6)
          -h, --help          this text
        """;

    public LoadClient Client { get; private set; } = LoadClient.Wrk;

    /// <summary>One short round per target and test, no warm-up, no goal judged: proves the harness still works.</summary>
    public bool Smoke { get; private set; }

    public int Rounds => _rounds ?? (Smoke ? 1 : Client == LoadClient.Wrk ? 4 : 5);

    public int Requests => _requests ?? (Smoke ? 200 : 2000);

    public TimeSpan Duration => _duration ?? TimeSpan.FromSeconds(Smoke ? 1 : 4);

    /// <summary>wrk's threads in the throughput test (at most one per connection).</summary>
    public int WrkThreads { get; private set; } = 2;

    /// <summary>The wrk executable: a path, or a name looked up on PATH.</summary>
    public string WrkPath { get; private set; } = "wrk";

    public int Connections { get; private set; } = 32;

    public Uri? Emulator { get; private set; }

    public int BodyBytes { get; private set; } = 100;

    public string Image { get; private set; } = "nvcf-samples/echo:latest";

    public List<string> EmulatorArgs { get; } = [];

    public Dictionary<string, string> EmulatorEnvironment { get; } = [];

    public string? RepoRoot { get; private set; }

    public bool Help { get; private set; }

    /// <summary>Profile the emulator with perf after the rounds (<see cref="Profiler"/>).</summary>
    public bool Profile { get; private set; }

    /// <summary>How long each profiled run lasts.</summary>
    public TimeSpan ProfileDuration => TimeSpan.FromSeconds(Smoke ? 1 : 10);

    /// <summary>Requests of the pending-load mode; null for the timing mode.</summary>
    public int? Pending { get; private set; }

    /// <summary>How long the function holds each request in the pending mode: long enough that all are sent before the first is answered.</summary>
    public int DelayMs => _delayMs ?? (Smoke ? 3000 : Math.Max(10_000, 3 * (Pending ?? 0)));

    /// <summary>The scale mode (<see cref="ScaleBench"/>) instead of the four targets.</summary>
    public bool Scale { get; private set; }

    public int ScaleFunctions => _scaleFunctions ?? (Smoke ? 4 : 199);

    public int DeployTrials { get; private set; } = 6;

    /// <summary>Sequential requests per target at the end of the warm-up.</summary>
    public int WarmupRequests => Smoke ? 0 : Math.Clamp(Requests / 2, 200, 1000);

    /// <summary>Length of each of the two concurrent warm-up passes per target.</summary>
    public TimeSpan WarmupDuration => Smoke ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(2, Duration.TotalSeconds));

    /// <summary>Slots per instance: at least the connections used, so pexec never queues for a slot.</summary>
    public int MaxRequestConcurrency => Math.Max(64, Connections);

    private int? _rounds;

    private int? _requests;

    private TimeSpan? _duration;

    private int? _scaleFunctions;

    private int? _delayMs;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string? inline = null;
            if (name.StartsWith("--", StringComparison.Ordinal) && name.IndexOf('=', StringComparison.Ordinal) is var eq and > 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }

            string Value() => inline ?? (++i < args.Count ? args[i] : throw new ArgumentException($"{name} needs a value"));

            switch (name)
            {
                case "-h" or "--help":
                    options.Help = true;
                    break;
                case "--client":
                    options.Client = Value() switch
                    {
                        "wrk" => LoadClient.Wrk,
                        "dotnet" => LoadClient.Dotnet,
                        var other => throw new ArgumentException($"{name} takes wrk or dotnet, not '{other}'"),
                    };
                    break;
                case "--smoke":
                    options.Smoke = true;
                    break;
                case "--wrk-threads":
                    options.WrkThreads = PositiveInt(name, Value());
                    break;
                case "--wrk":
                    options.WrkPath = Value();
                    break;
                case "--rounds":
                    options._rounds = PositiveInt(name, Value());
                    break;
                case "--requests":
                    options._requests = PositiveInt(name, Value());
                    break;
                case "--duration":
                    var seconds = double.TryParse(Value().TrimEnd('s'), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
                        ? s
                        : throw new ArgumentException($"{name} must be a positive number of seconds");
                    options._duration = TimeSpan.FromSeconds(seconds);
                    break;
                case "--connections":
                    options.Connections = PositiveInt(name, Value());
                    break;
                case "--emulator":
                    options.Emulator = Uri.TryCreate(Value(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                        ? uri
                        : throw new ArgumentException($"{name} must be an absolute http(s) URL");
                    break;
                case "--body-bytes":
                    options.BodyBytes = Math.Max(16, PositiveInt(name, Value()));
                    break;
                case "--image":
                    options.Image = Value();
                    break;
                case "--emulator-arg":
                    options.EmulatorArgs.Add(Value());
                    break;
                case "--emulator-env":
                    var pair = Value();
                    var at = pair.IndexOf('=', StringComparison.Ordinal);
                    if (at <= 0)
                    {
                        throw new ArgumentException($"{name} takes NAME=VALUE");
                    }

                    options.EmulatorEnvironment[pair[..at]] = pair[(at + 1)..];
                    break;
                case "--pending":
                    options.Pending = PositiveInt(name, Value());
                    break;
                case "--delay-ms":
                    options._delayMs = PositiveInt(name, Value());
                    break;
                case "--scale":
                    options.Scale = true;
                    break;
                case "--profile":
                    options.Profile = true;
                    break;
                case "--scale-functions":
                    options._scaleFunctions = PositiveInt(name, Value());
                    break;
                case "--deploy-trials":
                    options.DeployTrials = PositiveInt(name, Value());
                    break;
                case "--repo":
                    options.RepoRoot = Path.GetFullPath(Value());
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        if (options.Emulator is not null && (options.EmulatorArgs.Count > 0 || options.EmulatorEnvironment.Count > 0))
        {
            throw new ArgumentException("--emulator-arg and --emulator-env apply only to an emulator the harness starts, not with --emulator");
        }

        if (options.Profile && (options.Emulator is not null || options.Pending is not null || options.Scale || options.Client != LoadClient.Wrk))
        {
            throw new ArgumentException("--profile profiles an emulator this harness starts, in the default mode (wrk)");
        }

        if (options.Scale && (options.Pending is not null || options.Client != LoadClient.Wrk))
        {
            throw new ArgumentException("--scale uses wrk, and not with --pending");
        }

        return options;
    }

    /// <summary>Settings the emulator this harness starts needs for the chosen mode (its quotas), before the user's own.</summary>
    public IEnumerable<string> ModeEmulatorArgs()
    {
        if (Pending is > 1024 and var pending)
        {
            yield return Invariant($"--Emulator:Limits:MaxRequestConcurrency={pending}");
        }

        if (Scale)
        {
            var versions = (2 * ScaleFunctions) + 2;
            yield return Invariant($"--Emulator:Limits:MaxFunctions={ScaleFunctions + 2}");
            yield return Invariant($"--Emulator:Limits:MaxInstances={Math.Max(64, versions)}");
        }
    }

    private static int PositiveInt(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} must be a positive integer");
}
