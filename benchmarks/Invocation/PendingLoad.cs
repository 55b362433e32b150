using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using static Nvcf.Benchmarks.Invocation.Report;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// Many asynchronous invocations pending at once: one instance with as many slots as requests, each request sent with a
/// 1 s poll window (so it is answered 202) to a function that holds it for --delay-ms, then followed through
/// <c>/pexec/status</c> to its end. Every answer must be the request's own body: none lost, none swapped. The
/// emulator's resident memory is sampled every 100 ms; its peak over its resident memory before the burst, divided by
/// the most requests pending at once, is the memory one pending request costs (client connections included).
/// </summary>
internal static class PendingLoad
{
    /// <summary>Goal: the emulator's memory per pending request at most this many KiB.</summary>
    public const double MemoryPerPendingGoalKiB = 4;

    /// <summary>Connections that send the requests (each is held for the 1 s window, then answered 202).</summary>
    private const int SubmitConnections = 1000;

    /// <summary>Connections that poll (each poll is held for at most 1 s): every pending request is polled well within the emulator's 10 s.</summary>
    private const int PollConnections = 2000;

    /// <summary>How long the function holds each warm-up request: past the 1 s window, so they take the pending path too.</summary>
    private const int WarmupDelayMs = 1500;

    public static async Task<int> RunAsync(Uri emulator, EchoFunction function, int requests, BenchOptions options, int? emulatorPid, CancellationToken cancellationToken)
    {
        using var http = Client(emulator, Math.Min(requests, SubmitConnections));
        using var poller = Client(emulator, Math.Min(requests, PollConnections));
        Console.WriteLine(Invariant($"pending:     {requests} requests at once on {Math.Min(requests, SubmitConnections)} connections, NVCF-POLL-SECONDS 1, {requests} slots, the function holds each {options.DelayMs} ms; polled on {Math.Min(requests, PollConnections)} connections, NVCF-POLL-SECONDS 1"));

        var outcomes = new ConcurrentDictionary<string, int>();
        var peakRss = 0L;
        var pendingNow = 0;
        var peakPending = 0;
        if (!options.Smoke)
        {
            // The pending path once through (JIT, pools, thread pool growth) before the memory it costs is measured.
            await Parallel.ForEachAsync(
                Enumerable.Range(0, Math.Min(requests, 200)),
                new ParallelOptions { MaxDegreeOfParallelism = 200, CancellationToken = cancellationToken },
                async (i, token) => await InvokeAsync(http, poller, function, -1 - i, options.BodyBytes, WarmupDelayMs, _ => { }, token));
        }

        var rssBefore = emulatorPid is { } pid ? CpuMeter.ResidentBytes(pid) : null;
        var clock = Stopwatch.StartNew();
        using var sampling = new CancellationTokenSource();
        var sampler = SampleRssAsync(emulatorPid, rss => peakRss = Math.Max(peakRss, rss), sampling.Token);
        await Parallel.ForEachAsync(
            Enumerable.Range(0, requests),
            new ParallelOptions { MaxDegreeOfParallelism = requests, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                string outcome;
                try
                {
                    outcome = await InvokeAsync(http, poller, function, i, options.BodyBytes, options.DelayMs, accepted =>
                    {
                        var now = Interlocked.Add(ref pendingNow, accepted ? 1 : -1);
                        if (accepted)
                        {
                            InterlockedMax(ref peakPending, now);
                        }
                    }, token);
                }
                catch (HttpRequestException e)
                {
                    outcome = $"connection failed (lost): {e.Message}";
                }

                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            });
        await sampling.CancelAsync();
        await sampler;

        Console.WriteLine();
        foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
        {
            Console.WriteLine(Invariant($"  {count,7}  {outcome}"));
        }

        var good = outcomes.GetValueOrDefault("own body after 202");
        var lost = requests - good - outcomes.GetValueOrDefault("own body");
        var perPending = rssBefore is { } before && peakPending > 0 ? Math.Max(0, peakRss - before) / 1024.0 / peakPending : (double?)null;
        Console.WriteLine(Invariant($"pending:     {requests} requests in {clock.Elapsed.TotalSeconds:F1} s, at most {peakPending} pending (202, not yet answered) at once; {lost} lost or swapped"));
        Console.WriteLine(rssBefore is { } b
            ? Invariant($"memory:      emulator RSS {b / 1048576.0:F1} MiB before, {peakRss / 1048576.0:F1} MiB at the peak: {perPending:F1} KiB per pending request")
            : "memory:      not measured (the emulator was not started here)");
        if (!options.Smoke)
        {
            Console.WriteLine();
            Console.WriteLine(Invariant($"{requests} invocations pending at once, each polled to its end, none lost: {peakPending} at once, {lost} lost {(peakPending == requests && lost == 0 ? "MET" : "NOT MET")}"));
            Console.WriteLine(perPending is { } kib
                ? Invariant($"emulator memory per pending request ≤ {MemoryPerPendingGoalKiB:0} KiB: {kib:F1} KiB {(kib <= MemoryPerPendingGoalKiB ? "MET" : "NOT MET")}")
                : $"emulator memory per pending request ≤ {MemoryPerPendingGoalKiB:0} KiB: not measured NOT MET");
        }

        return lost == 0 ? 0 : 1;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    private static HttpClient Client(Uri emulator, int connections)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = connections })
        {
            BaseAddress = emulator,
            Timeout = TimeSpan.FromMinutes(10),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "x");
        return client;
    }

    private static async Task<string> InvokeAsync(
        HttpClient http, HttpClient poller, EchoFunction function, int index, int bodyBytes, int delayMs, Action<bool> pending, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(Invariant($"{{\"request\":{index},\"pad\":\"{new string('x', bodyBytes)}\"}}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("NVCF-POLL-SECONDS", "1");
        request.Headers.Add("X-Echo-Delay-Ms", delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await http.SendAsync(request, cancellationToken);
        var accepted = false;
        try
        {
            while (response.StatusCode == HttpStatusCode.Accepted)
            {
                if (!accepted)
                {
                    accepted = true;
                    pending(true);
                }

                var requestId = response.Headers.GetValues("NVCF-REQID").First();
                response.Dispose();
                using var poll = new HttpRequestMessage(HttpMethod.Get, $"/v2/nvcf/pexec/status/{requestId}");
                poll.Headers.Add("NVCF-POLL-SECONDS", "1");
                response = await poller.SendAsync(poll, cancellationToken);
            }

            if (accepted)
            {
                pending(false);
            }

            var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            return response.StatusCode switch
            {
                HttpStatusCode.OK when answer.AsSpan().SequenceEqual(body) => accepted ? "own body after 202" : "own body",
                HttpStatusCode.OK => "another body (swapped)",
                var status => Invariant($"{(int)status} (lost): {Encoding.UTF8.GetString(answer.AsSpan(0, Math.Min(120, answer.Length)))}"),
            };
        }
        finally
        {
            response.Dispose();
        }
    }

    private static async Task SampleRssAsync(int? pid, Action<long> report, CancellationToken cancellationToken)
    {
        if (pid is null)
        {
            return;
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using (var process = Process.GetProcessById(pid.Value))
                {
                    process.Refresh();
                    report(process.WorkingSet64);
                }

                await Task.Delay(100, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ArgumentException or InvalidOperationException)
        {
            // Stopped, or the process is gone.
        }
    }
}
