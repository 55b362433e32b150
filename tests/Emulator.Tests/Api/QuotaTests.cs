using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>The account's quotas (<c>Emulator:Limits</c>) on an emulator configured with small ones.</summary>
public sealed class QuotaTests : IAsyncLifetime
{
    private readonly FakeContainerServer _containers = new();
    private FakeRuntime _runtime = null!;
    private EmulatorFactory _emulator = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _runtime = new FakeRuntime(_containers);
        _emulator = new EmulatorFactory(_runtime, new Dictionary<string, string?>
        {
            ["Emulator:Limits:MaxFunctions"] = "2",
            ["Emulator:Limits:MaxInstancesPerDeployment"] = "3",
            ["Emulator:Limits:MaxInstances"] = "4",
            ["Emulator:Limits:MaxRequestConcurrency"] = "8",
        });
        _http = _emulator.CreateNvcfClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
        await _containers.DisposeAsync();
    }

    [Fact]
    public async Task EachQuotaIsTheCloudsBadRequestNamingTheFieldAndNothingStarts()
    {
        var first = await _http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "first"));
        var second = await _http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "second"));
        var third = await (await _http.PostAsJsonAsync("/v2/nvcf/functions", FakeEmulatorFixture.EchoFunction(name: "third"))).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(
            "Account 'local-nca-id': Reached or exceeded the max limit for the number of functions allowed: 2. Please contact your account team for more details [field=createFunctionRequest, rejected=null]",
            (string?)third["detail"]);
        await _http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "first-v2"), first.Id()); // a version is not a function

        Assert.Contains("field=deploymentSpecifications.minInstances, rejected=2147483647", await RefusedAsync(first, int.MaxValue, int.MaxValue, 1), StringComparison.Ordinal);
        Assert.Contains("per deployment allowed: 3. Please contact your account team for more details [field=deploymentSpecifications.maxInstances, rejected=4]", await RefusedAsync(first, 0, 4, 1), StringComparison.Ordinal);
        Assert.Contains("concurrent requests per instance allowed: 8. Please contact your account team for more details [field=deploymentSpecifications.maxRequestConcurrency, rejected=9]", await RefusedAsync(first, 0, 1, 9), StringComparison.Ordinal);
        Assert.Empty(_runtime.Started);

        var deployment = await _http.DeployAsync(first, minInstances: 1, maxInstances: 3);
        Assert.Contains("instances (3 asked by other deployments) allowed: 4. Please contact your account team for more details [field=deploymentSpecifications.maxInstances, rejected=2]", await RefusedAsync(second, 0, 2, 1), StringComparison.Ordinal);
        await _http.DeployAsync(second, minInstances: 0, maxInstances: 1);

        var spec = deployment["deploymentSpecifications"]![0]!;
        using var scaled = await _http.PatchAsJsonAsync($"/v2/nvcf/deployments/{deployment["deploymentId"]}/gpu-specifications/{spec["gpuSpecificationId"]}", new { maxInstances = 4 });
        Assert.Contains("[field=deploymentSpecifications.maxInstances, rejected=4]", (string)(await scaled.ProblemAsync(HttpStatusCode.BadRequest))["detail"]!, StringComparison.Ordinal);
        Assert.Equal(3, (int)(await _http.GetDeploymentAsync(first))["deploymentSpecifications"]![0]!["maxInstances"]!);
    }

    private async Task<string> RefusedAsync(JsonObject function, int minInstances, int maxInstances, int maxRequestConcurrency)
    {
        using var response = await _http.PostAsJsonAsync(
            $"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}",
            new { deploymentSpecifications = new[] { new { gpu = "L40", instanceType = "gl40_1.br20_2xlarge", minInstances, maxInstances, maxRequestConcurrency } } });
        return (string)(await response.ProblemAsync(HttpStatusCode.BadRequest))["detail"]!;
    }
}
