using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// One URL that wrk loads: the same JSON body and the same headers for every request (<c>Authorization</c> and
/// <c>Content-Type</c>, plus <paramref name="Headers"/>).
/// </summary>
/// <param name="Letter">A, B, C or D: the target's place in the round orders.</param>
/// <param name="Name">Short name for round lines, e.g. <c>pexec</c>.</param>
/// <param name="Label">What the target is, for the table.</param>
/// <param name="Url">The URL posted to.</param>
/// <param name="Headers">Headers of this target's own (<c>function-id</c> for HTTP invocation), as <c>Name: value</c>.</param>
/// <param name="ThroughEmulator">Whether the request goes through the emulator (its CPU per request is reported).</param>
internal sealed record WrkTarget(char Letter, string Name, string Label, Uri Url, IReadOnlyList<string> Headers, bool ThroughEmulator);

/// <summary>What one wrk run reported (its script's <c>nvcf-bench</c> lines).</summary>
internal sealed class WrkResult
{
    public long Requests { get; init; }

    public TimeSpan Duration { get; init; }

    public long ConnectErrors { get; init; }

    public long ReadErrors { get; init; }

    public long WriteErrors { get; init; }

    public long Timeouts { get; init; }

    /// <summary>Answers that were not a 200 carrying the body sent.</summary>
    public long Bad { get; init; }

    /// <summary>The first such answer, abridged; null when there was none.</summary>
    public string? FirstBad { get; init; }

    public double P50Us { get; init; }

    public double P99Us { get; init; }

    /// <summary>Latency in µs → count; empty unless the run was asked for it.</summary>
    public SortedDictionary<long, long> Histogram { get; } = [];

    public long SocketErrors => ConnectErrors + ReadErrors + WriteErrors + Timeouts;

    public double Rps => Requests / Duration.TotalSeconds;
}

/// <summary>
/// Runs wrk with the benchmark's script (<c>wrk-echo.lua</c>, next to the harness), one process per run, and reads
/// what the script prints. wrk is this process's child, so its CPU shows in this process's <c>cutime</c> once it
/// has exited (<see cref="CpuMeter"/>).
/// </summary>
internal sealed class Wrk(string executable, string script, byte[] body)
{
    private const string ResultPrefix = "nvcf-bench ";
    private const string FirstBadPrefix = "nvcf-bench-first-bad ";
    private const string HistogramPrefix = "nvcf-bench-histogram ";

    /// <summary>The first line of <c>wrk --version</c>.</summary>
    public string Version { get; private set; } = "?";

    /// <summary>Finds wrk and the script; throws, naming the fix, when either is missing.</summary>
    public static async Task<Wrk> LocateAsync(string executable, byte[] body, CancellationToken cancellationToken)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "wrk-echo.lua");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"{script} is missing; rebuild the harness (eng/bench.sh builds it)");
        }

        var wrk = new Wrk(executable, script, body);
        try
        {
            // `wrk --version` prints its version and usage, and exits 1.
            var (_, output) = await RunProcessAsync(executable, ["--version"], null, TimeSpan.FromSeconds(10), cancellationToken);
            wrk.Version = output.Split('\n', 2)[0].Trim();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run '{executable}' ({e.Message}): install wrk (apt-get install wrk; eng/bench.sh does it), or use --client dotnet", e);
        }

        return wrk;
    }

    /// <summary>
    /// One run of <paramref name="duration"/> (whole seconds, at least 1) on <paramref name="connections"/>
    /// connections and <paramref name="threads"/> threads; with <paramref name="histogram"/> the latency histogram too.
    /// Throws when wrk fails or prints no result.
    /// </summary>
    public async Task<WrkResult> RunAsync(WrkTarget target, int connections, int threads, TimeSpan duration, bool histogram, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        List<string> args =
        [
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-t", Math.Min(threads, connections).ToString(CultureInfo.InvariantCulture),
            "-d", seconds.ToString(CultureInfo.InvariantCulture) + "s",
            "-s", script,
            "-H", "Authorization: Bearer x",
            "-H", "Content-Type: application/json",
        ];
        foreach (var header in target.Headers)
        {
            args.AddRange(["-H", header]);
        }

        if (connections == 1)
        {
            args.Add("--latency");
        }

        args.Add(target.Url.ToString());
        var environment = new Dictionary<string, string>
        {
            ["NVCF_BENCH_BODY"] = Encoding.UTF8.GetString(body),
            ["NVCF_BENCH_HISTOGRAM"] = histogram ? "1" : "0",
        };

        var (exitCode, output) = await RunProcessAsync(executable, args, environment, TimeSpan.FromSeconds(seconds + 60), cancellationToken);
        var result = Parse(output);
        if (exitCode != 0 || result is null)
        {
            throw new InvalidOperationException($"wrk on {target.Name} ({target.Url}) {(exitCode != 0 ? $"exited with {exitCode}" : "printed no result")}: {output.Trim()}");
        }

        return result;
    }

    private static WrkResult? Parse(string output)
    {
        Dictionary<string, double>? values = null;
        string? firstBad = null;
        string? histogram = null;
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith(FirstBadPrefix, StringComparison.Ordinal))
            {
                firstBad = line[FirstBadPrefix.Length..].Trim();
            }
            else if (line.StartsWith(HistogramPrefix, StringComparison.Ordinal))
            {
                histogram = line[HistogramPrefix.Length..];
            }
            else if (line.StartsWith(ResultPrefix, StringComparison.Ordinal))
            {
                values = line[ResultPrefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Select(pair => pair.Split('=', 2))
                    .ToDictionary(pair => pair[0], pair => double.Parse(pair[1], CultureInfo.InvariantCulture));
            }
        }

        if (values is null)
        {
            return null;
        }

        var result = new WrkResult
        {
            Requests = (long)values["requests"],
            Duration = TimeSpan.FromMicroseconds(values["duration_us"]),
            ConnectErrors = (long)values["connect"],
            ReadErrors = (long)values["read"],
            WriteErrors = (long)values["write"],
            Timeouts = (long)values["timeout"],
            Bad = (long)values["bad"],
            FirstBad = firstBad,
            P50Us = values["p50_us"],
            P99Us = values["p99_us"],
        };
        foreach (var pair in histogram?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [])
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            var us = (long)double.Parse(pair[..colon], CultureInfo.InvariantCulture);
            result.Histogram[us] = result.Histogram.GetValueOrDefault(us) + (long)double.Parse(pair[(colon + 1)..], CultureInfo.InvariantCulture);
        }

        return result;
    }

    /// <summary>Runs a process to its end (killed after <paramref name="limit"/> or on cancellation); returns its exit code and output.</summary>
    internal static async Task<(int ExitCode, string Output)> RunProcessAsync(
        string executable, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, TimeSpan limit, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(executable, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {executable}");
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchdog.CancelAfter(limit);
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(watchdog.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new TimeoutException($"{executable} {string.Join(' ', start.ArgumentList)} did not end within {limit.TotalSeconds:F0} s; killed");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
