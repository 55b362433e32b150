using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Nvcf.Emulator.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// The invocation path under hostile or simply busy use, on a real server and the real engine: every answer is its
/// own request's, paths stay on the container, slots come back, large bodies get a clear answer.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class InvocationTrustTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private KestrelEmulator _emulator = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _emulator = KestrelEmulator.Start();
        _http = _emulator.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task QueuedAsyncRequestsOnKeptAliveConnectionsEachGetTheirOwnBodyBack()
    {
        // One slot, a function that takes 250 ms before it reads its request, a 1 s window, bodies larger than the
        // sockets on the way can hold: many requests are picked up late or in the pick-up grace, so they answer 202
        // while most of their body is still to be read, and the next request follows on the same connection.
        var function = await DeployEchoAsync("echo-queued", inferenceUrl: "/digest", maxRequestConcurrency: 1);
        const int requests = 32;
        var outcomes = new ConcurrentBag<string>();

        await Parallel.ForEachAsync(Enumerable.Range(0, requests), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
        {
            var body = RandomNumberGenerator.GetBytes(16 * 1024 * 1024);
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/octet-stream");
            request.Headers.Add("NVCF-POLL-SECONDS", "1");
            request.Headers.Add("X-Echo-Delay-Ms", "250");
            using var response = await _http.SendAsync(request, cancellationToken);
            outcomes.Add(await OutcomeAsync(response, Encoding.ASCII.GetBytes($"{body.Length} {Fnv1a(body):x16}")));
        });

        var counts = outcomes.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        var summary = string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}"));
        output.WriteLine($"{requests} requests of 16 MiB on one slot: {summary}");
        Assert.True(counts.GetValueOrDefault("own body after 202") > 0, $"No request went through a 202, so the case was not exercised ({summary}).");
        Assert.True(
            requests == counts.GetValueOrDefault("own body") + counts.GetValueOrDefault("own body after 202") + counts.GetValueOrDefault("504"),
            $"Some answers were lost or not their request's: {summary}");
        await _http.UndeployAsync(function);
    }

    [Fact]
    public async Task APathThatLooksLikeANetworkPathStaysOnTheContainer()
    {
        // A service on the emulator's loopback that must never be reached through a function.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var reached = 0;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref reached);
                await client.GetStream().WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nleaked"u8.ToArray());
            }
        });

        var viaInferenceUrl = await DeployEchoAsync("echo-network-path", inferenceUrl: $"//127.0.0.1:{port}/secret");
        using (var pexec = await _http.InvokeAsync(viaInferenceUrl.Id(), "{}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, pexec.StatusCode); // the echo container's own 404 for that path
        }

        foreach (var path in new[] { $"//127.0.0.1:{port}/secret", $"///127.0.0.1:{port}/secret", $"/\\127.0.0.1:{port}/secret" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_emulator.BaseAddress.GetLeftPart(UriPartial.Authority) + path)) { Content = new StringContent("{}") };
            request.Headers.Add("function-id", viaInferenceUrl.Id().ToString());
            using var response = await _http.SendAsync(request);
            Assert.NotEqual("leaked", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(0, reached);
        await _http.UndeployAsync(viaInferenceUrl);
    }

    [Fact]
    public async Task RequestsThatFailOnTheirWayGiveTheirSlotBack()
    {
        var function = await DeployEchoAsync("echo-slot", maxRequestConcurrency: 1);
        foreach (var path in new[] { "///x", "//x", "/%2F%2Fx", "/echo/..%2F..%2Fx" })
        {
            for (var i = 0; i < 3; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_emulator.BaseAddress.GetLeftPart(UriPartial.Authority) + path)) { Content = new StringContent("{}") };
                request.Headers.Add("function-id", function.Id().ToString());
                request.Headers.Add("NVCF-POLL-SECONDS", "2");
                using var response = await _http.SendAsync(request);
                Assert.NotEqual(HttpStatusCode.GatewayTimeout, response.StatusCode);
            }
        }

        // The container's connection is broken under a request (a slow body the caller abandons).
        using (var abandoned = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}") { Content = new SlowContent() };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _http.SendAsync(request, abandoned.Token));
        }

        using var next = await _http.InvokeAsync(function.Id(), """{"still":"served"}""", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "5"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("""{"still":"served"}""", await next.Content.ReadAsStringAsync());
        await _http.UndeployAsync(function);
    }

    [Fact]
    public async Task ABodyOverTheKestrelDefaultOf30MBIsDeliveredWhole()
    {
        var function = await DeployEchoAsync("echo-large-body", inferenceUrl: "/digest");
        var body = RandomNumberGenerator.GetBytes(31_000_000);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}") { Content = new ByteArrayContent(body) };
        using var response = await _http.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal($"{body.Length} {Fnv1a(body):x16}", await response.Content.ReadAsStringAsync());
        await _http.UndeployAsync(function);
    }

    [Fact]
    public async Task ABodyOverTheConfiguredLimitGets413AndTheSlotStaysFree()
    {
        await using var emulator = KestrelEmulator.Start(new Dictionary<string, string?> { ["Emulator:MaxRequestBodyBytes"] = "1000000" });
        using var http = emulator.CreateClient();
        var function = await http.CreateFunctionAsync(new { name = "echo-limit", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage });
        await http.DeployAsync(function);
        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        var body = new byte[2_000_000];
        using (var declared = await http.InvokeAsync(function.Id(), Encoding.UTF8.GetString(body)))
        {
            var problem = await declared.ProblemAsync(HttpStatusCode.RequestEntityTooLarge);
            Assert.Contains("Emulator:MaxRequestBodyBytes", (string?)problem["detail"]);
        }

        using (var chunked = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}") { Content = new StreamContent(new MemoryStream(body)) })
        {
            chunked.Headers.TransferEncodingChunked = true;
            chunked.Headers.Add("X-Echo-Delay-Ms", "1000"); // the function answers only after the limit is crossed
            using var response = await http.SendAsync(chunked);
            await response.ProblemAsync(HttpStatusCode.RequestEntityTooLarge);
            Assert.Equal("errored", response.Header("NVCF-STATUS"));
        }

        using (var proxied = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StreamContent(new MemoryStream(body)) })
        {
            proxied.Headers.TransferEncodingChunked = true;
            proxied.Headers.Add("function-id", function.Id().ToString());
            proxied.Headers.Add("X-Echo-Delay-Ms", "1000");
            using var response = await http.SendAsync(proxied);
            var problem = await response.ProblemAsync(HttpStatusCode.RequestEntityTooLarge);
            Assert.Contains("Emulator:MaxRequestBodyBytes", (string?)problem["detail"]);
        }

        using var small = await http.InvokeAsync(function.Id(), """{"fits":true}""", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "5"));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task TheServersOwnAnswersAreNvcfProblems()
    {
        using (var unmatched = await _http.GetAsync("/v2/nvcf/no-such-route"))
        {
            var problem = await unmatched.ProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal("urn:kaizen:problem-details:not-found", (string?)problem["type"]);
            Assert.Contains("/v2/nvcf/no-such-route", (string?)problem["detail"]);
        }

        using (var wrongType = await _http.PostAsync($"/v2/nvcf/exec/functions/{Guid.NewGuid()}", new StringContent("requestBody", Encoding.UTF8, "text/plain")))
        {
            var problem = await wrongType.ProblemAsync(HttpStatusCode.UnsupportedMediaType);
            Assert.Equal("urn:kaizen:problem-details:unsupported-media-type", (string?)problem["type"]);
        }

        using var wrongMethod = await _http.PutAsync("/v2/nvcf/pexec/status/" + Guid.NewGuid(), null);
        Assert.Equal("urn:kaizen:problem-details:method-not-allowed", (string?)(await wrongMethod.ProblemAsync(HttpStatusCode.MethodNotAllowed))["type"]);
    }

    private async Task<string> OutcomeAsync(HttpResponseMessage response, byte[] sent)
    {
        if (response.StatusCode == HttpStatusCode.GatewayTimeout)
        {
            return "504";
        }

        var after202 = false;
        var requestId = response.Header("NVCF-REQID");
        var current = response;
        while (current.StatusCode == HttpStatusCode.Accepted)
        {
            after202 = true;
            using var poll = new HttpRequestMessage(HttpMethod.Get, $"/v2/nvcf/pexec/status/{requestId}");
            poll.Headers.Add("NVCF-POLL-SECONDS", "5");
            var next = await _http.SendAsync(poll);
            if (current != response)
            {
                current.Dispose();
            }

            current = next;
        }

        var received = await current.Content.ReadAsByteArrayAsync();
        var status = current.StatusCode;
        if (current != response)
        {
            current.Dispose();
        }

        return status != HttpStatusCode.OK ? $"{(int)status}: {Encoding.UTF8.GetString(received.AsSpan(0, Math.Min(200, received.Length)))}"
            : received.AsSpan().SequenceEqual(sent) ? (after202 ? "own body after 202" : "own body")
            : "another body";
    }

    private async Task<System.Text.Json.Nodes.JsonObject> DeployEchoAsync(string name, string inferenceUrl = "/echo", int maxRequestConcurrency = 4)
    {
        var function = await _http.CreateFunctionAsync(new { name, inferenceUrl, containerImage = DockerFixture.EchoImage });
        await _http.DeployAsync(function, maxRequestConcurrency: maxRequestConcurrency);
        await _http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        return function;
    }

    /// <summary>The echo sample's <c>/digest</c> hash.</summary>
    private static ulong Fnv1a(byte[] bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>A body that starts and then never ends.</summary>
    private sealed class SlowContent : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync("{\"slow\":"u8.ToArray(), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(Timeout, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
