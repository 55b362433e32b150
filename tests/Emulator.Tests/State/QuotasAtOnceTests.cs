using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Api;
using Nvcf.Emulator.Tests.Docker;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.State;

/// <summary>
/// Quotas under requests that arrive together, on the Redis store (where every check is a round trip, so requests
/// interleave): however many ask at once, no more fit than the limit allows.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class QuotasAtOnceTests : IAsyncLifetime
{
    private const int Asking = 8;

    private readonly RedisFixture _redis = new();
    private readonly FakeContainerServer _containers = new();
    private EmulatorFactory _emulator = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        _emulator = new EmulatorFactory(new FakeRuntime(_containers), new Dictionary<string, string?>
        {
            ["ConnectionStrings:state"] = _redis.ConnectionString,
            ["Emulator:Limits:MaxFunctions"] = "12",
            ["Emulator:Limits:MaxInstances"] = "3",
        });
        _http = _emulator.CreateNvcfClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
        await _containers.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task DeploymentsOfDifferentFunctionsAtOnceNeverExceedTheInstanceLimitTogether()
    {
        var functions = new List<JsonObject>();
        for (var i = 0; i < Asking; i++)
        {
            functions.Add(await _http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: $"at-once-{i}")));
        }

        var answers = await Task.WhenAll(functions.Select(f => _http.PostAsJsonAsync(
            $"/v2/nvcf/deployments/functions/{f.Id()}/versions/{f.VersionId()}",
            new { deploymentSpecifications = new[] { new { gpu = "L40", instanceType = "gl40_1.br20_2xlarge", minInstances = 0, maxInstances = 1, maxRequestConcurrency = 1 } } })));

        Assert.Equal(3, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.OK))
        {
            var problem = await refused.ProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("Reached or exceeded the max limit for the number of instances", (string?)problem["detail"], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task FunctionsCreatedAtOnceNeverExceedTheFunctionLimit()
    {
        var existing = (await _http.ListFunctionsAsync()).Count;
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            _http.PostAsJsonAsync("/v2/nvcf/functions", FakeEmulatorFixture.EchoFunction(name: $"created-at-once-{i}"))));

        Assert.Equal(12 - existing, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.Equal(12, (await _http.ListFunctionsAsync()).Count);
    }
}
