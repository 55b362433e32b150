using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>Queues, cluster groups, assets, and instances that follow the load.</summary>
public class PlatformApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task QueuesShowTheRequestsWaitingForAnInstanceAndTheirPositions()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "queued", inferenceUrl: "/slow"));
        await Http.DeployAsync(function, maxRequestConcurrency: 1);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        var started = fixture.Containers.SlowStarted;
        var running = Http.InvokeAsync(function.Id(), "{}");
        await Eventually.TrueAsync(() => Task.FromResult(fixture.Containers.SlowStarted == started + 1));
        var waiting = Enumerable.Range(0, 2).Select(_ => Http.InvokeAsync(function.Id(), "{}")).ToList();

        await Eventually.TrueAsync(async () => await QueueDepthAsync(function) == 2);
        var queues = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/queues/functions/{function.Id()}");
        var queue = Assert.Single(queues!["queues"]!.AsArray())!;
        Assert.Equal(function.VersionId().ToString(), (string?)queue["functionVersionId"]);
        Assert.Equal("queued", (string?)queue["functionName"]);
        Assert.Equal("ACTIVE", (string?)queue["functionStatus"]);

        using var unknown = await Http.GetAsync($"/v2/nvcf/queues/{Guid.NewGuid()}/position");
        await unknown.ProblemAsync(HttpStatusCode.NotFound);

        fixture.Containers.ReleaseSlow();
        await Eventually.TrueAsync(() => Task.FromResult(fixture.Containers.SlowStarted == started + 2));
        fixture.Containers.ReleaseSlow();
        await Eventually.TrueAsync(() => Task.FromResult(fixture.Containers.SlowStarted == started + 3));
        fixture.Containers.ReleaseSlow();
        foreach (var call in waiting.Prepend(running))
        {
            Assert.Equal(HttpStatusCode.OK, (await call).StatusCode);
        }

        Assert.Equal(0, await QueueDepthAsync(function));
    }

    [Fact]
    public async Task APendingRequestsPositionIsReported()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "positioned", inferenceUrl: "/slow"));
        await Http.DeployAsync(function, maxRequestConcurrency: 1);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var accepted = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "1"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        var position = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/queues/{accepted.Header("NVCF-REQID")}/position");
        Assert.Equal(0, (int)position!["positionInQueue"]!);
        Assert.Equal(function.VersionId().ToString(), (string?)position["functionVersionId"]);
        fixture.Containers.ReleaseSlow();
    }

    [Fact]
    public async Task InstancesScaleUpWhileRequestsWaitAndBackDownWhenIdle()
    {
        await using var emulator = new EmulatorFactory(fixture.Runtime, new Dictionary<string, string?> { ["Emulator:IdleInstanceTimeout"] = "00:00:01" });
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "elastic", inferenceUrl: "/slow"));
        await http.DeployAsync(function, minInstances: 1, maxInstances: 2, maxRequestConcurrency: 1);
        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        var started = fixture.Containers.SlowStarted;
        var calls = Enumerable.Range(0, 2).Select(_ => http.InvokeAsync(function.Id(), "{}")).ToList();
        await Eventually.TrueAsync(() => Task.FromResult(fixture.Containers.SlowStarted == started + 2));
        Assert.Equal(2, await ActiveInstancesAsync(http, function));

        fixture.Containers.ReleaseSlow();
        foreach (var call in calls)
        {
            Assert.Equal(HttpStatusCode.OK, (await call).StatusCode);
        }

        await Eventually.TrueAsync(async () => await ActiveInstancesAsync(http, function) == 1);
    }

    [Fact]
    public async Task ClusterGroupsDescribeThisHost()
    {
        var groups = await Http.GetFromJsonAsync<JsonObject>("/v2/nvcf/clusterGroups");

        var group = Assert.Single(groups!["clusterGroups"]!.AsArray())!;
        Assert.Equal("local", (string?)group["name"]);
        Assert.Equal("local-nca-id", (string?)group["ncaId"]);
        Assert.NotNull(group["gpus"]);
        Assert.Equal(Environment.MachineName, (string?)group["clusters"]![0]!["name"]);
    }

    [Fact]
    public async Task AssetsAreCreatedUploadedWithoutATokenListedAndDeleted()
    {
        using var created = await Http.PostAsJsonAsync("/v2/nvcf/assets", new { contentType = "text/plain", description = "a prompt" });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var asset = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var assetId = (string)asset["assetId"]!;
        Assert.Equal("text/plain", (string?)asset["contentType"]);

        using var anonymous = fixture.Factory.CreateClient();
        var uploadUrl = new Uri((string)asset["uploadUrl"]!);
        using var upload = new StringContent("hello asset", System.Text.Encoding.UTF8, "text/plain");
        upload.Headers.Add("x-amz-meta-nvcf-asset-description", "a prompt");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PutAsync(uploadUrl.PathAndQuery, upload)).StatusCode);

        using var forged = await anonymous.PutAsync($"{uploadUrl.AbsolutePath}?token=wrong", new StringContent("x"));
        await forged.ProblemAsync(HttpStatusCode.Forbidden);

        var listed = await Http.GetFromJsonAsync<JsonObject>("/v2/nvcf/assets");
        Assert.Contains(listed!["assets"]!.AsArray(), a => (string?)a!["assetId"] == assetId);
        var fetched = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/assets/{assetId}");
        Assert.Equal("a prompt", (string?)fetched!["asset"]!["description"]);

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"/v2/nvcf/assets/{assetId}")).StatusCode);
        await (await Http.GetAsync($"/v2/nvcf/assets/{assetId}")).ProblemAsync(HttpStatusCode.NotFound);
        await (await Http.PostAsJsonAsync("/v2/nvcf/assets", new { contentType = "text/plain" })).ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task MalformedAndUnknownAssetReferencesAreRefused()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "asset-refs"));
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var malformed = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-INPUT-ASSET-REFERENCES", "not-a-uuid"));
        await malformed.ProblemAsync(HttpStatusCode.BadRequest);

        using var unknown = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-INPUT-ASSET-REFERENCES", Guid.NewGuid().ToString()));
        await unknown.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("errored", unknown.Header("NVCF-STATUS"));
    }

    private async Task<int> QueueDepthAsync(JsonObject function)
    {
        var queues = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/queues/functions/{function.Id()}/versions/{function.VersionId()}");
        return (int)queues!["queues"]![0]!["queueDepth"]!;
    }

    private static async Task<int> ActiveInstancesAsync(HttpClient http, JsonObject function)
    {
        var version = await http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        return version!["function"]!["activeInstances"]?.AsArray().Count(i => (string?)i!["instanceStatus"] == "ACTIVE") ?? 0;
    }
}
