using System.Diagnostics;
using System.Net;
using Nvcf.Emulator.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>The flow users rely on for A/B tests and zero-downtime updates, on the real engine.</summary>
[Collection(DockerCollection.Name)]
public class AbFlowTests(DockerFixture docker, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task AnImageRebuiltUnderTheSameTagRunsOnTheNextDeploy()
    {
        // The dev loop: edit, docker build -t same:tag, redeploy; the new containers run the new build.
        var tag = $"nvcf-test/dev-loop:{Guid.NewGuid():N}";
        await BuildAsync(tag, build: 1);
        try
        {
            var http = docker.Http;
            var function = await http.CreateFunctionAsync(new { name = "dev-loop", inferenceUrl = "/cgi-bin/env", inferencePort = 8000, containerImage = tag });
            await http.DeployAsync(function);
            await http.WaitForStatusAsync(function, Timeout, "ACTIVE");
            Assert.Contains("DEV_LOOP_BUILD=1\n", await InvokeTextAsync(function), StringComparison.Ordinal);
            var firstImage = Assert.Single(await docker.ContainersOfAsync(function.Id())).ImageID;

            await BuildAsync(tag, build: 2);
            await http.UndeployAsync(function);
            await http.DeployAsync(function);
            await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

            Assert.Contains("DEV_LOOP_BUILD=2\n", await InvokeTextAsync(function), StringComparison.Ordinal);
            Assert.NotEqual(firstImage, Assert.Single(await docker.ContainersOfAsync(function.Id())).ImageID);
            await http.UndeployAsync(function);
        }
        finally
        {
            await Command.RunAsync("docker", ["image", "rm", "--force", tag]);
        }
    }

    [Fact]
    public async Task TwoDeployedVersionsBothAnswerByFunctionIdUntilTheOldOneIsUndeployed()
    {
        var http = docker.Http;
        var echo = new { name = "echo-ab", inferenceUrl = "/echo", inferencePort = 8000, containerImage = DockerFixture.EchoImage };
        var v1 = await http.CreateFunctionAsync(echo);
        var v2 = await http.CreateFunctionAsync(echo, v1.Id());

        var clock = Stopwatch.StartNew();
        await http.DeployAsync(v1);
        await http.DeployAsync(v2);
        await http.WaitForStatusAsync(v1, Timeout, "ACTIVE");
        await http.WaitForStatusAsync(v2, Timeout, "ACTIVE");
        output.WriteLine($"Both versions ACTIVE {clock.ElapsedMilliseconds} ms after the deploy calls.");

        var answeredBy = await InvokeManyAsync(v1.Id(), null, 40);
        Assert.Equal(new[] { v1.VersionId(), v2.VersionId() }.Order(), answeredBy.Keys.Order());
        output.WriteLine($"By function ID: {string.Join(", ", answeredBy.Select(kv => $"{kv.Key}: {kv.Value}"))}");

        Assert.Equal([v1.VersionId()], (await InvokeManyAsync(v1.Id(), v1.VersionId(), 5)).Keys);
        Assert.Equal([v2.VersionId()], (await InvokeManyAsync(v1.Id(), v2.VersionId(), 5)).Keys);

        await http.UndeployAsync(v1);
        Assert.Equal([v2.VersionId()], (await InvokeManyAsync(v1.Id(), null, 20)).Keys);
        Assert.Single(await docker.ContainersOfAsync(v1.Id()));

        foreach (var version in new[] { v1, v2 })
        {
            using var deleted = await http.DeleteAsync($"/v2/nvcf/functions/{version.Id()}/versions/{version.VersionId()}");
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Empty(await docker.ContainersOfAsync(v1.Id()));
        using var afterDelete = await http.InvokeAsync(v1.Id(), "{}");
        await afterDelete.ProblemAsync(HttpStatusCode.NotFound);
    }

    /// <summary>Invokes <paramref name="count"/> times; returns how often each version answered.</summary>
    private async Task<Dictionary<Guid, int>> InvokeManyAsync(Guid functionId, Guid? versionId, int count)
    {
        var answeredBy = new Dictionary<Guid, int>();
        for (var i = 0; i < count; i++)
        {
            var body = $$"""{"request":{{i}}}""";
            using var response = await docker.Http.InvokeAsync(functionId, body, versionId);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
            Assert.Equal("fulfilled", response.Header("NVCF-STATUS"));
            var version = Guid.Parse(response.Header("X-Echo-Function-Version-Id"));
            answeredBy[version] = answeredBy.GetValueOrDefault(version) + 1;
        }

        return answeredBy;
    }

    private async Task<string> InvokeTextAsync(System.Text.Json.Nodes.JsonObject function)
    {
        using var response = await docker.Http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Builds the test function image anew under <paramref name="tag"/>, told apart by its environment.</summary>
    private static Task BuildAsync(string tag, int build) =>
        Command.RunAsync("docker", ["build", "--quiet", "--tag", tag, "-"], input: $"FROM {DockerFixture.CgiImage}\nENV DEV_LOOP_BUILD={build}\n");
}
