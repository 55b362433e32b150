using System.Net;
using System.Net.Http.Json;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary><c>containerEnvironment</c> names are environment variable names; each entry is one variable in the container.</summary>
[Collection(DockerCollection.Name)]
public class ContainerEnvironmentTests(DockerFixture docker)
{
    [Theory]
    [InlineData("EXTRA\nINJECTED")]
    [InlineData("KEY=INJECTED")]
    [InlineData("1ST")]
    [InlineData("WITH SPACE")]
    [InlineData("TRAILING\n")]
    public async Task AKeyThatIsNotAVariableNameIsRefusedNamingTheField(string key)
    {
        using var response = await docker.Http.PostAsJsonAsync("/v2/nvcf/functions", new
        {
            name = "bad-env",
            inferenceUrl = "/cgi-bin/env",
            containerImage = DockerFixture.CgiImage,
            containerEnvironment = new[] { new { key, value = "x" } },
        });

        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("Validation failed: [object=createFunctionRequest, field=containerEnvironment.key, rejected=" + key, (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheContainerSeesExactlyTheVariablesGivenAValueWithANewlineAsOne()
    {
        var function = await docker.Http.CreateFunctionAsync(new
        {
            name = "env-exact",
            inferenceUrl = "/cgi-bin/exports",
            containerImage = await TestImages.CgiScriptsAsync(),
            containerEnvironment = new[]
            {
                new { key = "PLAIN", value = "value" },
                new { key = "_MULTI_LINE", value = "first\nINJECTED=yes" },
            },
        });
        await docker.Http.DeployAsync(function);
        await docker.Http.WaitForStatusAsync(function, TimeSpan.FromMinutes(1), "ACTIVE");

        using var response = await docker.Http.InvokeAsync(function.Id(), "{}");
        var exports = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("export PLAIN='value'\n", exports, StringComparison.Ordinal);
        Assert.Contains("export _MULTI_LINE='first\nINJECTED=yes'\n", exports, StringComparison.Ordinal);
        Assert.DoesNotContain("export INJECTED=", exports, StringComparison.Ordinal);

        var container = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        var environment = (await docker.Docker.Containers.InspectContainerAsync(container.ID)).Config!.Env!;
        Assert.Contains("_MULTI_LINE=first\nINJECTED=yes", environment);
        Assert.DoesNotContain(environment, e => e.StartsWith("INJECTED", StringComparison.Ordinal));
        await docker.Http.UndeployAsync(function);
    }
}
