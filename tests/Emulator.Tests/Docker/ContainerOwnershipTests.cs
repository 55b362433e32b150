using System.Net;
using System.Net.Http.Json;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>Every container the emulator creates has an owner that removes it, whatever the engine or the user does.</summary>
[Collection(DockerCollection.Name)]
public class ContainerOwnershipTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private HttpClient Http => docker.Http;

    [Fact]
    public async Task DeployThenUndeployInALoopLeavesNoContainerOfTheFunction()
    {
        var function = await Http.CreateFunctionAsync(new { name = "deploy-undeploy", inferenceUrl = "/cgi-bin/env", containerImage = DockerFixture.CgiImage });

        for (var i = 0; i < 20; i++)
        {
            await Http.DeployAsync(function);
            await Task.Delay(TimeSpan.FromMilliseconds(i % 10 * 60)); // before, during and after the create and the start
            await Http.UndeployAsync(function);
        }

        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        using var deleted = await Http.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
    }

    [Theory]
    [InlineData("--privileged")]
    [InlineData("")]
    [InlineData("Nvcf-Samples/Echo:latest")]
    [InlineData("nvcf-samples/echo:latest; rm -rf /")]
    public async Task AnImageReferenceTheEngineCannotParseIsRefusedAtTheApiNamingContainerImage(string image)
    {
        using var response = await Http.PostAsJsonAsync("/v2/nvcf/functions", new { name = "bad-image", inferenceUrl = "/echo", containerImage = image });

        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("field=containerImage", (string?)problem["detail"]);
    }

    [Fact]
    public async Task AnImageTheEngineRefusesTurnsTheDeploymentToErrorWithItsCauseAndCanBeDeletedAndStopped()
    {
        // Well-formed, but a sha256 digest of 32 hex digits: the engine refuses to even look it up.
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?>());
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new
        {
            name = "engine-refuses",
            inferenceUrl = "/echo",
            containerImage = "nvcf-test/refused@sha256:0123456789abcdef0123456789abcdef",
        });
        await http.DeployAsync(function);

        var failed = await http.WaitForStatusAsync(function, Timeout, "ERROR");

        Assert.Contains("invalid checksum digest length", (string?)failed["healthInfo"]![0]!["error"]);
        using var deleted = await http.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        await http.DeployAsync(await http.CreateFunctionAsync(new
        {
            name = "engine-refuses-at-shutdown",
            inferenceUrl = "/echo",
            containerImage = "nvcf-test/refused@sha256:0123456789abcdef0123456789abcdef",
        }));
        await emulator.DisposeAsync(); // a clean stop with a failed deployment still in place
    }
}
