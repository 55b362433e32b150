using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>What NVCF clients rely on after "invoke": 202 and polling, error mapping, large results, streaming, HTTP invocation, envelope.</summary>
public class InvocationContractTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task ARequestStillRunningAfterThePollWindowGets202AndItsResultThroughStatusOnce()
    {
        var function = await DeployedAsync("poll", "/slow");

        using var accepted = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "1"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("in-progress", accepted.Header("NVCF-STATUS"));
        Assert.Empty(await accepted.Content.ReadAsByteArrayAsync());
        var requestId = accepted.Header("NVCF-REQID");

        using var stillRunning = await Status(requestId, pollSeconds: 1);
        Assert.Equal(HttpStatusCode.Accepted, stillRunning.StatusCode);
        Assert.Equal(requestId, stillRunning.Header("NVCF-REQID"));

        fixture.Containers.ReleaseSlow();
        using var done = await Status(requestId, pollSeconds: 10);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal("done", await done.Content.ReadAsStringAsync());
        Assert.Equal("fulfilled", done.Header("NVCF-STATUS"));

        using var gone = await Status(requestId, pollSeconds: 1);
        await gone.ProblemAsync(HttpStatusCode.NotFound);
        using var unknown = await Status(Guid.NewGuid().ToString(), pollSeconds: 1);
        await unknown.ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TheCallersBodyReachesTheFunctionAsItArrivesNotWhenItEnds()
    {
        var function = await DeployedAsync("arrivals", "/arrivals");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}")
        {
            Content = new TwoPartContent(TimeSpan.FromMilliseconds(800)),
        };

        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var arrivals = (await response.Content.ReadFromJsonAsync<long[]>())!;
        Assert.True(arrivals.Length >= 2, $"The body arrived in one piece: [{string.Join(", ", arrivals)}] ms");
        Assert.True(arrivals[^1] - arrivals[0] >= 400, $"The first part was held back until the second: [{string.Join(", ", arrivals)}] ms");
    }

    [Fact]
    public async Task AResultNobodyPollsForExpires()
    {
        var function = await DeployedAsync("expiring", "/slow");
        using var accepted = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "1"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(12));

        using var expired = await Status(accepted.Header("NVCF-REQID"), pollSeconds: 1);
        await expired.ProblemAsync(HttpStatusCode.NotFound);
        fixture.Containers.ReleaseSlow();
    }

    [Fact]
    public async Task AContainerErrorBecomesInferenceProblemDetailsExceptForEventStreams()
    {
        var function = await DeployedAsync("mapped-error", "/fail");

        using var mapped = await Http.InvokeAsync(function.Id(), "{}");
        var problem = await mapped.ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:inference-service:problem-details:service-unavailable", (string?)problem["type"]);
        Assert.Equal("Service Unavailable", (string?)problem["title"]);
        Assert.Equal("model exploded", (string?)problem["detail"]);
        Assert.Equal("errored", mapped.Header("NVCF-STATUS"));

        using var raw = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("Accept", "text/event-stream"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, raw.StatusCode);
        Assert.Equal("""{"error":"model exploded"}""", await raw.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnAnswerOver5MiBIsAZipBehindA302ThatDownloadsWithoutAToken()
    {
        var function = await DeployedAsync("large", "/big");

        using var response = await Http.InvokeAsync(function.Id(), "{}");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("fulfilled", response.Header("NVCF-STATUS"));
        var requestId = response.Header("NVCF-REQID");
        var location = response.Headers.Location!;
        using var anonymous = fixture.Factory.CreateClient();
        using var zip = new ZipArchive(await anonymous.GetStreamAsync(location.PathAndQuery));
        var entry = Assert.Single(zip.Entries);
        Assert.Equal(requestId + ".response", entry.FullName);
        Assert.Equal((5 * 1024 * 1024) + 1, entry.Length);
    }

    [Theory]
    [InlineData("pexec")]
    [InlineData("exec")]
    public async Task AnAnswerOfUnknownLengthOver5MiBIsAZipToo(string route)
    {
        var function = await DeployedAsync("unsized-" + route, "/unsized");
        const int Size = (5 * 1024 * 1024) + 1;

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/{route}/functions/{function.Id()}") { Content = JsonContent.Create(new { requestBody = new { } }) };
        request.Headers.Add("X-Size", Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await Http.SendAsync(request);

        // pexec: 302 to the zip; exec: 200 with the zip's URL as responseReference.
        Assert.Equal(route == "pexec" ? HttpStatusCode.Found : HttpStatusCode.OK, response.StatusCode);
        var location = route == "pexec"
            ? response.Headers.Location!.PathAndQuery
            : new Uri((string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["responseReference"]!).PathAndQuery;
        using var anonymous = fixture.Factory.CreateClient();
        using var zip = new ZipArchive(await anonymous.GetStreamAsync(location));
        var entry = Assert.Single(zip.Entries);
        Assert.Equal(response.Header("NVCF-REQID") + ".response", entry.FullName);
        using var body = new MemoryStream();
        await entry.Open().CopyToAsync(body);
        Assert.Equal(FakeContainerServer.Pattern(Size), body.ToArray());
    }

    [Fact]
    public async Task AnAnswerOfUnknownLengthUpTo5MiBIsRelayedWhole()
    {
        var function = await DeployedAsync("unsized-small", "/unsized");
        const int Size = 5 * 1024 * 1024;

        using var response = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("X-Size", Size.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fulfilled", response.Header("NVCF-STATUS"));
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(FakeContainerServer.Pattern(Size), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task EventsReachTheClientAsTheContainerWritesThem()
    {
        var function = await DeployedAsync("events", "/events");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}") { Content = new StringContent("{}") };
        request.Headers.Add("Accept", "text/event-stream");

        var clock = Stopwatch.StartNew();
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync();
        var firstAt = clock.Elapsed;
        var rest = await reader.ReadToEndAsync();

        Assert.Equal("data: event 1", first);
        Assert.Contains("data: event 3", rest);
        Assert.True(clock.Elapsed - firstAt > TimeSpan.FromMilliseconds(400), "The first event should arrive well before the stream ends.");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task HttpInvocationByHeaderPassesMethodPathAndQueryAndRelaysTheAnswerAsItIs()
    {
        var first = await DeployedAsync("http-invocation", "/echo");
        var second = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "http-invocation"), first.Id());
        await Http.DeployAsync(second);
        await Http.WaitForStatusAsync(second, Timeout, "ACTIVE");

        using var request = new HttpRequestMessage(HttpMethod.Put, "/any/path/here?name=John");
        request.Headers.Add("function-id", first.Id().ToString());
        request.Headers.Add("function-version-id", second.VersionId().ToString());
        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("PUT", (string?)seen["method"]);
        Assert.Equal("/any/path/here", (string?)seen["path"]);
        Assert.Equal("?name=John", (string?)seen["query"]);
        Assert.Equal(second.VersionId().ToString(), (string?)seen["version"]);
        Assert.True(Guid.TryParse(response.Header("NVCF-REQID"), out _));

        using var failing = new HttpRequestMessage(HttpMethod.Post, "/fail");
        failing.Headers.Add("function-id", first.Id().ToString());
        using var raw = await Http.SendAsync(failing);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, raw.StatusCode);
        Assert.Equal("""{"error":"model exploded"}""", await raw.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HttpInvocationByHostNameTakesTheVersionFirst()
    {
        var function = await DeployedAsync("by-host", "/echo");

        using var byFunction = new HttpRequestMessage(HttpMethod.Get, "/any/x");
        byFunction.Headers.Host = $"{function.Id()}.invocation.api.nvcf.nvidia.com";
        using var response = await Http.SendAsync(byFunction);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var byVersion = new HttpRequestMessage(HttpMethod.Get, "/any/y");
        byVersion.Headers.Host = $"{function.VersionId()}.{function.Id()}.invocation.localhost";
        using var pinned = await Http.SendAsync(byVersion);
        Assert.Equal(function.VersionId().ToString(), (string?)(await pinned.Content.ReadFromJsonAsync<JsonObject>())!["version"]);

        using var anonymous = fixture.Factory.CreateClient();
        using var noToken = new HttpRequestMessage(HttpMethod.Get, "/any/z");
        noToken.Headers.Host = $"{function.Id()}.invocation.localhost";
        await (await anonymous.SendAsync(noToken)).ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task TheEnvelopeApiWrapsTheAnswerAndItsStatus()
    {
        var function = await DeployedAsync("envelope", "/echo");

        using var fulfilled = await Http.PostAsJsonAsync($"/v2/nvcf/exec/functions/{function.Id()}", new { requestBody = new { prompt = "hi" } });
        Assert.Equal(HttpStatusCode.OK, fulfilled.StatusCode);
        var envelope = (await fulfilled.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("fulfilled", (string?)envelope["status"]);
        Assert.Equal(100, (int)envelope["percentComplete"]!);
        Assert.Equal("hi", (string?)envelope["response"]!["prompt"]);
        Assert.Equal(fulfilled.Header("NVCF-REQID"), (string?)envelope["reqId"]);

        using var missingBody = await Http.PostAsJsonAsync($"/v2/nvcf/exec/functions/{function.Id()}", new { requestHeader = new { pollDurationSeconds = 5 } });
        await missingBody.ProblemAsync(HttpStatusCode.BadRequest);

        var slow = await DeployedAsync("envelope-slow", "/slow");
        using var accepted = await Http.PostAsJsonAsync(
            $"/v2/nvcf/exec/functions/{slow.Id()}", new { requestHeader = new { pollDurationSeconds = 1 }, requestBody = new { } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var pending = (await accepted.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("in-progress", (string?)pending["status"]);

        fixture.Containers.ReleaseSlow();
        using var done = await Http.GetAsync($"/v2/nvcf/exec/status/{pending["reqId"]}");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal("done", (string?)(await done.Content.ReadFromJsonAsync<JsonObject>())!["response"]);
    }

    private Task<HttpResponseMessage> Status(string requestId, int pollSeconds)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/nvcf/pexec/status/{requestId}");
        request.Headers.Add("NVCF-POLL-SECONDS", pollSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Http.SendAsync(request);
    }

    private async Task<JsonObject> DeployedAsync(string name, string inferenceUrl)
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: name, inferenceUrl: inferenceUrl));
        await Http.DeployAsync(function, maxRequestConcurrency: 4);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        return function;
    }

    /// <summary>A body sent in two parts with a pause between them, as a client streaming its input does.</summary>
    private sealed class TwoPartContent(TimeSpan pause) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync("{\"part\":1}\n"u8.ToArray());
            await stream.FlushAsync();
            await Task.Delay(pause);
            await stream.WriteAsync("{\"part\":2}\n"u8.ToArray());
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
