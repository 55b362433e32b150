using System.Net;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

public class InvocationApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task TheContainersAnswerComesBackWithTheRequestIdAndStatus()
    {
        var function = await DeployedAsync("invoke-echo", "/echo");

        using var response = await Http.InvokeAsync(function.Id(), """{"prompt":"hello"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"prompt":"hello"}""", await response.Content.ReadAsStringAsync());
        Assert.True(Guid.TryParse(response.Header("NVCF-REQID"), out _));
        Assert.Equal("fulfilled", response.Header("NVCF-STATUS"));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("pexec")]
    [InlineData("http invocation")]
    public async Task TheContainerGetsThePlatformHeadersButNeverTheCallersTokenOrSpoofedNvcfHeaders(string route)
    {
        var function = await DeployedAsync("invoke-headers", "/headers");

        using var request = route == "pexec"
            ? new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{function.Id()}")
            : new HttpRequestMessage(HttpMethod.Post, "/headers") { Headers = { { "function-id", function.Id().ToString() } } };
        request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        request.Headers.Add("NVCF-FUNCTION-ID", "spoofed");
        request.Headers.Add("NVCF-ASSET-DIR", "/etc");
        request.Headers.Add("X-Custom", "kept");
        request.Headers.Add("Connection", "X-Hop");
        request.Headers.Add("X-Hop", "dropped");
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fulfilled", response.Header("NVCF-STATUS"));

        var seen = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        string? Seen(string name) => (string?)seen[name];
        Assert.Equal(response.Header("NVCF-REQID"), Seen("NVCF-REQID"));
        Assert.Equal(function.Id().ToString(), Seen("NVCF-FUNCTION-ID"));
        Assert.Equal(function.VersionId().ToString(), Seen("NVCF-FUNCTION-VERSION-ID"));
        Assert.Equal("invoke-headers", Seen("NVCF-FUNCTION-NAME"));
        Assert.Equal("local-nca-id", Seen("NVCF-NCAID"));
        Assert.Equal("gl40_1.br20_2xlarge", Seen("NVCF-INSTANCETYPE"));
        Assert.Equal("5242880", Seen("NVCF-MAX-RESPONSE-SIZE-BYTES"));
        Assert.Equal("/var/inf/inputAssets/" + response.Header("NVCF-REQID"), Seen("NVCF-ASSET-DIR"));
        Assert.Equal("/var/inf/response/" + response.Header("NVCF-REQID"), Seen("NVCF-LARGE-OUTPUT-DIR"));
        Assert.InRange(int.Parse(Seen("NVCF-POLL-SECONDS")!, System.Globalization.CultureInfo.InvariantCulture), 55, 60);
        Assert.Equal("kept", Seen("X-Custom"));
        Assert.Null(Seen("Authorization"));
        Assert.Null(Seen("X-Hop"));
    }

    [Fact]
    public async Task TheContainersErrorStatusIsPassedThroughAsErrored()
    {
        var function = await DeployedAsync("invoke-fail", "/fail");

        using var response = await Http.InvokeAsync(function.Id(), "{}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("errored", response.Header("NVCF-STATUS"));
    }

    [Fact]
    public async Task AFunctionWithNoDeployedVersionIsNotFoundAndStillGetsARequestId()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "not-deployed"));

        using var response = await Http.InvokeAsync(function.Id(), "{}");

        var problem = await response.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains(function.Id().ToString(), (string?)problem["detail"]);
        Assert.True(Guid.TryParse(response.Header("NVCF-REQID"), out _));
        Assert.Equal("errored", response.Header("NVCF-STATUS"));
    }

    [Fact]
    public async Task ABadPollSecondsHeaderIsABadRequest()
    {
        var function = await DeployedAsync("invoke-poll", "/echo");

        using var response = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "7200"));

        Assert.Equal("NVCF-POLL-SECONDS must be <= 3600", (string?)(await response.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
    }

    [Fact]
    public async Task RequestsBeyondAnInstancesConcurrencyWaitForASlotInsteadOfFailing()
    {
        var function = await DeployedAsync("invoke-slots", "/slow", maxRequestConcurrency: 2);

        var started = fixture.Containers.SlowStarted;
        var calls = Enumerable.Range(0, 3).Select(_ => Http.InvokeAsync(function.Id(), "{}")).ToList();
        await Eventually.TrueAsync(() => fixture.Containers.SlowStarted == started + 2);
        await Task.Delay(300);
        Assert.Equal(started + 2, fixture.Containers.SlowStarted);
        Assert.All(calls, call => Assert.False(call.IsCompleted));

        fixture.Containers.ReleaseSlow();
        await Eventually.TrueAsync(() => fixture.Containers.SlowStarted == started + 3);
        fixture.Containers.ReleaseSlow();

        foreach (var call in calls)
        {
            using var response = await call;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task ARequestThatGetsNoSlotWithinItsPollWindowTimesOutWith504()
    {
        var function = await DeployedAsync("invoke-timeout", "/slow");
        var started = fixture.Containers.SlowStarted;
        var holder = Http.InvokeAsync(function.Id(), "{}");
        await Eventually.TrueAsync(() => fixture.Containers.SlowStarted == started + 1);

        using var response = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "1"));

        await response.ProblemAsync(HttpStatusCode.GatewayTimeout);
        Assert.Equal("errored", response.Header("NVCF-STATUS"));
        fixture.Containers.ReleaseSlow();
        (await holder).Dispose();
    }

    [Fact]
    public async Task AnHttpInvocationTheFunctionDoesNotAnswerWithinItsPollWindowGets504AndFreesItsSlot()
    {
        var function = await DeployedAsync("http-timeout", "/slow", maxRequestConcurrency: 1);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slow") { Content = new StringContent("{}") };
        request.Headers.Add("function-id", function.Id().ToString());
        request.Headers.Add("NVCF-POLL-SECONDS", "1");

        using var response = await Http.SendAsync(request);

        var problem = await response.ProblemAsync(HttpStatusCode.GatewayTimeout);
        Assert.Contains("did not answer within 1 s", (string?)problem["detail"]);
        Assert.Equal("errored", response.Header("NVCF-STATUS"));
        Assert.True(Guid.TryParse(response.Header("NVCF-REQID"), out _));
        using var next = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "1"));
        fixture.Containers.ReleaseSlow();
        Assert.NotEqual(HttpStatusCode.GatewayTimeout, next.StatusCode);
    }

    [Fact]
    public async Task InvocationsPinnedToAVersionReachOnlyThatVersion()
    {
        var first = await DeployedAsync("pinned", "/headers");
        var second = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "pinned", inferenceUrl: "/headers"), first.Id());
        await Http.DeployAsync(second);
        await Http.WaitForStatusAsync(second, Timeout, "ACTIVE");

        for (var i = 0; i < 10; i++)
        {
            using var response = await Http.InvokeAsync(first.Id(), "{}", second.VersionId());
            var seen = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(second.VersionId().ToString(), (string?)seen["NVCF-FUNCTION-VERSION-ID"]);
        }
    }

    private async Task<JsonObject> DeployedAsync(string name, string inferenceUrl, int maxRequestConcurrency = 1)
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: name, inferenceUrl: inferenceUrl));
        await Http.DeployAsync(function, maxRequestConcurrency: maxRequestConcurrency);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        return function;
    }
}
