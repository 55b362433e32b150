using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

public class DeploymentsApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task ADeploymentGoesFromDeployingToActiveAndIsFoundByVersionAndById()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "lifecycle"));

        var deployment = await Http.DeployAsync(function, minInstances: 1, maxInstances: 2, maxRequestConcurrency: 3);
        Assert.Contains((string?)deployment["functionStatus"], new[] { "DEPLOYING", "ACTIVE" });
        Assert.Equal("lifecycle", (string?)deployment["functionName"]);
        var spec = deployment["deploymentSpecifications"]![0]!;
        Assert.True(Guid.TryParse((string?)spec["gpuSpecificationId"], out _));
        Assert.Equal(3, (int)spec["maxRequestConcurrency"]!);
        Assert.NotNull(deployment["requestQueueUrl"]);

        var active = await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        Assert.False(active.ContainsKey("healthInfo"));

        var byId = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/deployments/{deployment["deploymentId"]}");
        Assert.Equal("ACTIVE", (string?)byId!["deployment"]!["functionStatus"]);

        var version = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal("ACTIVE", (string?)version!["function"]!["status"]);
        var instance = Assert.Single(version["function"]!["activeInstances"]!.AsArray());
        Assert.Equal("ACTIVE", (string?)instance!["instanceStatus"]);
        Assert.Equal("L40", (string?)instance["gpu"]);
    }

    [Fact]
    public async Task AnActiveVersionCannotBeDeployedAgainButCanBeScaled()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "scaled"));
        var deployment = await Http.DeployAsync(function, minInstances: 1, maxInstances: 1);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var again = await Http.PostAsJsonAsync(
            $"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}",
            new { deploymentSpecifications = new[] { new { gpu = "L40", instanceType = "x", minInstances = 1, maxInstances = 1 } } });
        var problem = await again.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.EndsWith("Status ACTIVE, use PATCH endpoint to update gpu-specification", (string?)problem["detail"]);

        var specId = (string?)deployment["deploymentSpecifications"]![0]!["gpuSpecificationId"];
        using var patched = await Http.PatchAsJsonAsync(
            $"/v2/nvcf/deployments/{deployment["deploymentId"]}/gpu-specifications/{specId}", new { minInstances = 2, maxInstances = 3 });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var spec = (await patched.Content.ReadFromJsonAsync<JsonObject>())!["gpuSpecification"]!;
        Assert.Equal(2, (int)spec["minInstances"]!);
        Assert.Equal(3, (int)spec["maxInstances"]!);

        await Eventually.TrueAsync(async () => (await ActiveInstancesAsync(function)) == 2);

        using var invalid = await Http.PatchAsJsonAsync(
            $"/v2/nvcf/deployments/{deployment["deploymentId"]}/gpu-specifications/{specId}", new { minInstances = 5 });
        Assert.Equal(
            "Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'",
            (string?)(await invalid.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
    }

    [Fact]
    public async Task TheDeprecatedPutChangesInstanceCountsButNotTheGpu()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "put-updated"));
        var deployment = await Http.DeployAsync(function);
        var specId = (string?)deployment["deploymentSpecifications"]![0]!["gpuSpecificationId"];
        var path = $"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}";

        using var updated = await Http.PutAsJsonAsync(path, new
        {
            deploymentSpecifications = new[] { new { gpuSpecificationId = specId, gpu = "L40", instanceType = "gl40_1.br20_2xlarge", minInstances = 1, maxInstances = 4, maxRequestConcurrency = 8 } },
        });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var spec = (await updated.Content.ReadFromJsonAsync<JsonObject>())!["deployment"]!["deploymentSpecifications"]![0]!;
        Assert.Equal(specId, (string?)spec["gpuSpecificationId"]);
        Assert.Equal(4, (int)spec["maxInstances"]!);

        using var gpuChange = await Http.PutAsJsonAsync(path, new
        {
            deploymentSpecifications = new[] { new { gpuSpecificationId = specId, gpu = "H100", instanceType = "x", minInstances = 1, maxInstances = 1 } },
        });
        await gpuChange.ProblemAsync(HttpStatusCode.BadRequest);
    }

    public static TheoryData<string, string> InvalidDeployments => new()
    {
        { """{"deploymentSpecifications":[]}""", "field=deploymentSpecifications" },
        { """{}""", "field=deploymentSpecifications" },
        { """{"deploymentSpecifications":[{"instanceType":"x","minInstances":1,"maxInstances":1}]}""", "field=deploymentSpecifications.gpu" },
        { """{"deploymentSpecifications":[{"gpu":"L40","minInstances":1,"maxInstances":1}]}""", "field=deploymentSpecifications.instanceType" },
        { """{"deploymentSpecifications":[{"gpu":"L40","instanceType":"x","minInstances":2,"maxInstances":1}]}""", "Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'" },
        { """{"deploymentSpecifications":[{"gpu":"L40","instanceType":"x","minInstances":0,"maxInstances":0}]}""", "field=deploymentSpecifications.maxInstances" },
        { """{"deploymentSpecifications":[{"gpu":"L40","instanceType":"x","minInstances":1,"maxInstances":1,"maxRequestConcurrency":16385}]}""", "field=deploymentSpecifications.maxRequestConcurrency" },
    };

    [Theory]
    [MemberData(nameof(InvalidDeployments))]
    public async Task InvalidDeploymentsAreRejectedAndTheVersionStaysInactive(string body, string expectedDetail)
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "invalid-deployment"));

        using var response = await Http.PostAsync(
            $"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Contains(expectedDetail, (string?)(await response.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
        var version = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal("INACTIVE", (string?)version!["function"]!["status"]);
    }

    [Fact]
    public async Task DeployingAnUnknownVersionIsNotFoundAndAnUndeployedOneHasNoDeployment()
    {
        using var unknown = await Http.PostAsJsonAsync(
            $"/v2/nvcf/deployments/functions/{Guid.NewGuid()}/versions/{Guid.NewGuid()}",
            new { deploymentSpecifications = new[] { new { gpu = "L40", instanceType = "x", minInstances = 1, maxInstances = 1 } } });
        await unknown.ProblemAsync(HttpStatusCode.NotFound);

        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "never-deployed"));
        using var none = await Http.GetAsync($"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(
            $"Function version '{function.VersionId()}': Deployment not found",
            (string?)(await none.ProblemAsync(HttpStatusCode.NotFound))["detail"]);
    }

    [Fact]
    public async Task AMissingImageTurnsTheDeploymentToErrorWithTheCause()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(FakeRuntime.Missing, name: "missing-image"));
        await Http.DeployAsync(function);

        var failed = await Http.WaitForStatusAsync(function, Timeout, "ERROR");
        var health = Assert.Single(failed["healthInfo"]!.AsArray())!;
        Assert.Contains("was not found locally and could not be pulled", (string?)health["error"]);
        Assert.Equal("L40", (string?)health["gpu"]);

        using var redeploy = await Http.PostAsJsonAsync(
            $"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}",
            new { deploymentSpecifications = new[] { new { gpu = "L40", instanceType = "x", minInstances = 1, maxInstances = 1 } } });
        Assert.EndsWith("Function already has a deployment with errors", (string?)(await redeploy.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);

        await Http.UndeployAsync(function);
        await Http.DeployAsync(function);
    }

    [Fact]
    public async Task AContainerThatExitsBeforeItIsReadyFailsTheDeploymentWithItsLastLogLines()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(FakeRuntime.Crash, name: "crashing"));
        await Http.DeployAsync(function);

        var failed = await Http.WaitForStatusAsync(function, Timeout, "ERROR");
        var error = (string?)failed["healthInfo"]![0]!["error"];
        Assert.Contains("exited with code 3 before its health check passed", error);
        Assert.Contains("boom: the model file is missing", error);
        var containers = fixture.Runtime.Started.Where(s => s.VersionId == function.VersionId()).Select(s => "fake-" + s.InstanceId.ToString("N"));
        Assert.DoesNotContain(containers, fixture.Runtime.Running.Contains);
    }

    [Fact]
    public async Task ScalingFromZeroIsActiveAtOnceAndTheFirstRequestStartsAnInstance()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "from-zero"));
        var deployment = await Http.DeployAsync(function, minInstances: 0, maxInstances: 1);
        Assert.Equal("ACTIVE", (string?)deployment["functionStatus"]);
        Assert.Equal(0, await ActiveInstancesAsync(function));

        using var response = await Http.InvokeAsync(function.Id(), """{"wake":"up"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"wake":"up"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, await ActiveInstancesAsync(function));
    }

    [Fact]
    public async Task UndeployingMakesTheVersionInactiveAndRemovesItsInstances()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "undeployed"));
        await Http.DeployAsync(function, minInstances: 2, maxInstances: 2);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var started = fixture.Runtime.Started.Where(s => s.VersionId == function.VersionId()).Select(s => "fake-" + s.InstanceId.ToString("N")).ToList();
        Assert.Equal(2, started.Count);

        using var response = await Http.DeleteAsync($"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("INACTIVE", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["status"]);

        Assert.Empty(fixture.Runtime.Running.Intersect(started));
        using var gone = await Http.GetAsync($"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}");
        await gone.ProblemAsync(HttpStatusCode.NotFound);
        using var invoke = await Http.InvokeAsync(function.Id(), "{}");
        await invoke.ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnInstanceThatStopsIsReplaced()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "replaced"));
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var first = fixture.Runtime.Started.Single(s => s.VersionId == function.VersionId());

        fixture.Runtime.Kill("fake-" + first.InstanceId.ToString("N"));

        await Eventually.TrueAsync(() => Task.FromResult(fixture.Runtime.Started.Count(s => s.VersionId == function.VersionId()) == 2));
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        using var response = await Http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<int> ActiveInstancesAsync(JsonObject function)
    {
        var version = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        return version!["function"]!["activeInstances"]?.AsArray().Count(i => (string?)i!["instanceStatus"] == "ACTIVE") ?? 0;
    }
}
