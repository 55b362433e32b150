using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.Testing;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>The invocation contract against real containers: the samples, and the busybox test function.</summary>
[Collection(DockerCollection.Name)]
public class InvocationOnTheEngineTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private HttpClient Http => docker.Http;

    [Fact]
    public async Task TheStreamingSamplesEventsArriveOneByOne()
    {
        var function = await DeployAsync(new { name = "streaming", inferenceUrl = "/stream", containerImage = DockerFixture.StreamingImage });
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}")
        {
            Content = JsonContent.Create(new { prompt = "one two three four", tokens = 4, delayMs = 300 }),
        };
        request.Headers.Add("Accept", "text/event-stream");

        var clock = Stopwatch.StartNew();
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var arrivals = new List<(string Line, TimeSpan At)>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                arrivals.Add((line, clock.Elapsed));
            }
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(5, arrivals.Count);
        Assert.Equal("data: [DONE]", arrivals[^1].Line);
        Assert.True(arrivals[^1].At - arrivals[0].At > TimeSpan.FromMilliseconds(600), "Events were delivered together, not as written.");
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task TheClientSampleFollowsProgressAndDownloadsTheLargeResultOfTheProgressSample()
    {
        var function = await DeployAsync(new { name = "progress", inferenceUrl = "/run", containerImage = DockerFixture.ProgressImage });
        using var http = docker.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var client = new Nvcf.Client.NvcfClient(http, EmulatorFactory.Token);
        var progress = new List<Nvcf.Client.NvcfProgress>();

        var result = await client.InvokeAsync(
            function.Id(), null, JsonContent.Create(new { steps = 3, stepMs = 700, outputFiles = 1 }), pollSeconds: 1, progress.Add);

        Assert.Equal(HttpStatusCode.Found, result.StatusCode);
        Assert.Contains(progress, p => p.PercentComplete is > 0 and < 100);
        Assert.Equal(progress.Where(p => p.PercentComplete is not null).Select(p => p.PercentComplete).Order(), progress.Where(p => p.PercentComplete is not null).Select(p => p.PercentComplete));
        using var zip = new MemoryStream();
        await client.DownloadAsync(result.ResultUrl!, zip);
        using var archive = new ZipArchive(zip);
        Assert.Equal([result.RequestId + ".response", "result-1.txt"], archive.Entries.Select(e => e.FullName).Order());
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task AContainerErrorIsMappedForPexecAndExecAndRelayedAsItIsForHttpInvocation()
    {
        var function = await DeployAsync(new { name = "failing", inferenceUrl = "/cgi-bin/fail", containerImage = DockerFixture.CgiImage });

        using var pexec = await Http.InvokeAsync(function.Id(), "{}");
        var problem = await pexec.ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:inference-service:problem-details:service-unavailable", (string?)problem["type"]);
        Assert.Equal("model exploded", (string?)problem["detail"]);

        // exec wraps the same problem in its envelope, with the container's status as the answer's and as errorCode.
        using var exec = await Http.PostAsJsonAsync($"/v2/nvcf/exec/functions/{function.Id()}", new { requestBody = new { } });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, exec.StatusCode);
        Assert.Equal("application/json", exec.Content.Headers.ContentType?.MediaType);
        Assert.Equal("errored", exec.Header("NVCF-STATUS"));
        var envelope = (await exec.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(exec.Header("NVCF-REQID"), (string?)envelope["reqId"]);
        Assert.Equal("errored", (string?)envelope["status"]);
        Assert.Equal(503, (int)envelope["errorCode"]!);
        Assert.Null(envelope["percentComplete"]);
        Assert.Equal("urn:inference-service:problem-details:service-unavailable", (string?)envelope["response"]!["type"]);
        Assert.Equal("model exploded", (string?)envelope["response"]!["detail"]);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/cgi-bin/fail") { Content = new StringContent("{}") };
        request.Headers.Add("function-id", function.Id().ToString());
        using var relayed = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, relayed.StatusCode);
        Assert.Equal("""{"error":"model exploded"}""", await relayed.Content.ReadAsStringAsync());
        Assert.Equal("errored", relayed.Header("NVCF-STATUS"));
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task TheEnvelopeApiAndHttpInvocationReachTheEchoSample()
    {
        var function = await DeployAsync(new { name = "echo-envelope", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage });

        using var envelope = await Http.PostAsJsonAsync($"/v2/nvcf/exec/functions/{function.Id()}", new { requestBody = new { question = "life" } });
        var answer = (await envelope.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("fulfilled", (string?)answer["status"]);
        Assert.Equal("life", (string?)answer["response"]!["question"]);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo?ignored=yes") { Content = new StringContent("raw body") };
        request.Headers.Host = $"{function.VersionId()}.{function.Id()}.invocation.localhost";
        using var byHost = await Http.SendAsync(request);
        Assert.Equal("raw body", await byHost.Content.ReadAsStringAsync());
        Assert.Equal(function.VersionId().ToString(), byHost.Header("X-Echo-Function-Version-Id"));
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task AnAnswerWithoutContentLengthOver5MiBIsZippedLikeADeclaredOneAndRelayedBelowItOrByHttpInvocation()
    {
        // busybox httpd ends a CGI answer by closing the connection: no Content-Length, no chunk sizes.
        var function = await DeployAsync(new { name = "unsized", inferenceUrl = "/cgi-bin/unsized", containerImage = await TestImages.CgiScriptsAsync() });
        const int Large = 6 * 1024 * 1024;
        const int Small = 4 * 1024 * 1024;

        using (var large = await Http.InvokeAsync(function.Id(), "{}"))
        {
            Assert.Equal(HttpStatusCode.Found, large.StatusCode);
            Assert.Equal("fulfilled", large.Header("NVCF-STATUS"));
            Assert.Empty(await large.Content.ReadAsByteArrayAsync());
            using var anonymous = docker.Factory.CreateClient();
            using var zip = new ZipArchive(await anonymous.GetStreamAsync(large.Headers.Location!.PathAndQuery));
            var entry = Assert.Single(zip.Entries);
            Assert.Equal(large.Header("NVCF-REQID") + ".response", entry.FullName);
            using var body = new MemoryStream();
            await entry.Open().CopyToAsync(body);
            Assert.Equal(Numbers(Large), body.ToArray());
        }

        using (var small = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("X-Size", Small.ToString(System.Globalization.CultureInfo.InvariantCulture))))
        {
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
            Assert.Null(small.Headers.Location);
            Assert.Equal("text/plain", small.Content.Headers.ContentType?.MediaType);
            Assert.Equal(Numbers(Small), await small.Content.ReadAsByteArrayAsync());
        }

        // HTTP invocation is never compatibility mode: the answer comes as it is, whatever its size.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/cgi-bin/unsized") { Content = new StringContent("{}") };
        request.Headers.Add("function-id", function.Id().ToString());
        using (var relayed = await Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, relayed.StatusCode);
            Assert.Equal(Numbers(Large), await relayed.Content.ReadAsByteArrayAsync());
        }

        await Http.UndeployAsync(function);
    }

    /// <summary>What the <c>unsized</c> script answers: the numbers from 1, one a line, cut at <paramref name="size"/> bytes.</summary>
    private static byte[] Numbers(int size) =>
        System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, 1_000_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n")))[..size];

    private async Task<JsonObject> DeployAsync(object definition)
    {
        var function = await Http.CreateFunctionAsync(definition);
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        return function;
    }
}
