using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using static Nvcf.Benchmarks.Invocation.Report;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// Many asynchronous invocations at once on one slot: each sent with a 1 s poll window (most are answered 202 or,
/// never picked up, 504) and followed through <c>/pexec/status</c> to its end. Every answer must be the request's own
/// body or a 504: none lost, none swapped.
/// </summary>
internal static class PendingLoad
{
    public static async Task<int> RunAsync(Uri emulator, EchoFunction function, int requests, BenchOptions options, int? emulatorPid, CancellationToken cancellationToken)
    {
        // Polls have connections of their own: queued behind invocations, a poll could come after its result expired.
        using var http = Client(emulator, options.Connections);
        using var poller = Client(emulator, options.Connections);
        Console.WriteLine(Invariant($"pending:     {requests} requests at once on {options.Connections} kept-alive connections, one slot, NVCF-POLL-SECONDS 1, the function takes {options.DelayMs} ms each"));

        var outcomes = new ConcurrentDictionary<string, int>();
        var peakRss = 0L;
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
                    outcome = await InvokeAsync(http, poller, function, i, options, token);
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

        var good = outcomes.GetValueOrDefault("own body") + outcomes.GetValueOrDefault("own body after 202") + outcomes.GetValueOrDefault("504 (no instance picked it up in its window)");
        Console.WriteLine(Invariant($"pending:     {requests} requests in {clock.Elapsed.TotalSeconds:F1} s: {requests - good} lost or swapped; emulator peak RSS {(peakRss > 0 ? $"{peakRss / (1024 * 1024)} MiB" : "not measured")}"));
        return good == requests ? 0 : 1;
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

    private static async Task<string> InvokeAsync(HttpClient http, HttpClient poller, EchoFunction function, int index, BenchOptions options, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(Invariant($"{{\"request\":{index},\"pad\":\"{new string('x', options.BodyBytes)}\"}}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("NVCF-POLL-SECONDS", "1");
        request.Headers.Add("X-Echo-Delay-Ms", options.DelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await http.SendAsync(request, cancellationToken);
        var accepted = false;
        try
        {
            while (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted = true;
                var requestId = response.Headers.GetValues("NVCF-REQID").First();
                response.Dispose();
                using var poll = new HttpRequestMessage(HttpMethod.Get, $"/v2/nvcf/pexec/status/{requestId}");
                poll.Headers.Add("NVCF-POLL-SECONDS", "30");
                response = await poller.SendAsync(poll, cancellationToken);
            }

            var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            return response.StatusCode switch
            {
                HttpStatusCode.OK when answer.AsSpan().SequenceEqual(body) => accepted ? "own body after 202" : "own body",
                HttpStatusCode.OK => "another body (swapped)",
                HttpStatusCode.GatewayTimeout => "504 (no instance picked it up in its window)",
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
