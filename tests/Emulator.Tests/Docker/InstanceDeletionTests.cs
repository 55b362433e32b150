using System.Net;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// One instance on the real engine: <c>DELETE /v2/nvcf/instances/{instanceId}</c> removes its container and the next
/// instance replaces it as after a crash; <c>GET …/logs</c> is its container's output.
/// </summary>
[Collection(DockerCollection.Name)]
public class InstanceDeletionTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private HttpClient Http => docker.Http;

    [Fact]
    public async Task DeletingAnInstanceRemovesItsContainerAndAnotherInstanceTakesItsPlace()
    {
        var function = await Http.CreateFunctionAsync(new { name = "instance-deleted", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage });
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var first = Assert.Single(await InstanceIdsAsync(function));
        var container = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        Assert.Equal(first.ToString(), container.Labels[ContainerLabels.InstanceId]);

        using (var deleted = await Http.DeleteAsync($"/v2/nvcf/instances/{first}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            Assert.Empty(await deleted.Content.ReadAsByteArrayAsync());
        }

        // The container is gone when the answer comes; the instance is no longer listed.
        Assert.DoesNotContain(await docker.ContainersOfAsync(function.Id()), c => c.ID == container.ID);
        Assert.DoesNotContain(first, await InstanceIdsAsync(function));

        // minInstances holds: a new instance, with another ID, becomes ACTIVE in its place, and serves.
        Guid replacement = default;
        await Eventually.TrueAsync(
            async () =>
            {
                var active = await ActiveInstancesAsync(function);
                replacement = active.Count == 1 && (string?)active[0]!["instanceStatus"] == "ACTIVE" ? Guid.Parse((string)active[0]!["instanceId"]!) : default;
                return replacement != default;
            },
            Timeout);
        Assert.NotEqual(first, replacement);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var running = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        Assert.Equal(replacement.ToString(), running.Labels[ContainerLabels.InstanceId]);
        using var response = await Http.InvokeAsync(function.Id(), """{"after":"delete"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("delete", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The deleted instance is unknown from now on.
        using var again = await Http.DeleteAsync($"/v2/nvcf/instances/{first}");
        await again.ProblemAsync(HttpStatusCode.NotFound);
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task AnInstancesLogsAreItsContainersOutputAsText()
    {
        var function = await Http.CreateFunctionAsync(new { name = "instance-logs", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage });
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var instance = Assert.Single(await InstanceIdsAsync(function));
        for (var i = 0; i < 3; i++)
        {
            using var invoked = await Http.InvokeAsync(function.Id(), "{}");
            Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
        }

        // The echo sample writes one line per request to stdout.
        string logs = "";
        await Eventually.TrueAsync(
            async () =>
            {
                logs = await Http.GetStringAsync($"/v2/nvcf/instances/{instance}/logs");
                return logs.Split('\n').Count(l => l.Contains("POST /echo -> 200", StringComparison.Ordinal)) >= 3;
            },
            Timeout);
        using var full = await Http.GetAsync($"/v2/nvcf/instances/{instance}/logs");
        Assert.Equal("text/plain", full.Content.Headers.ContentType?.MediaType);
        var container = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        var engineLogs = await Command.OutputAsync("docker", ["logs", container.ID]);
        Assert.Contains(logs.Split('\n')[^1].Trim(), engineLogs, StringComparison.Ordinal);

        // tail: the last lines only.
        var last = await Http.GetStringAsync($"/v2/nvcf/instances/{instance}/logs?tail=1");
        Assert.Single(last.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("POST /echo -> 200", last, StringComparison.Ordinal);
        using var badTail = await Http.GetAsync($"/v2/nvcf/instances/{instance}/logs?tail=0");
        Assert.Contains("'tail'", (string?)(await badTail.ProblemAsync(HttpStatusCode.BadRequest))["detail"], StringComparison.Ordinal);
        await Http.UndeployAsync(function);
    }

    [Theory]
    [InlineData("DELETE", null, "")]
    [InlineData("GET", null, "/logs")]
    [InlineData("DELETE", "not-a-uuid", "")]
    [InlineData("GET", "not-a-uuid", "/logs")]
    public async Task AnUnknownInstanceIsTheCloudsNotFoundProblem(string method, string? instanceId, string suffix)
    {
        var id = instanceId ?? Guid.NewGuid().ToString();
        using var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"/v2/nvcf/instances/{id}{suffix}"));
        var problem = await response.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("Not Found", (string?)problem["title"]);
        Assert.Equal($"Instance '{id}' not found", (string?)problem["detail"]);
        Assert.Equal("urn:kaizen:problem-details:not-found", (string?)problem["type"]);
    }

    private async Task<JsonArray> ActiveInstancesAsync(JsonObject function)
    {
        var version = JsonNode.Parse(await Http.GetStringAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}"))!;
        return version["function"]!["activeInstances"]?.AsArray() ?? [];
    }

    private async Task<List<Guid>> InstanceIdsAsync(JsonObject function) =>
        [.. (await ActiveInstancesAsync(function)).Select(i => Guid.Parse((string)i!["instanceId"]!))];
}
