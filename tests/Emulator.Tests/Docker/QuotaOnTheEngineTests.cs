using System.Net;
using System.Net.Http.Json;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>Sizes beyond the account's quotas are refused with the cloud's 400 before anything is created.</summary>
[Collection(DockerCollection.Name)]
public sealed class QuotaOnTheEngineTests(DockerFixture docker) : IAsyncLifetime
{
    private readonly string _workDirectory = Directory.CreateTempSubdirectory("nvcf-quota-").FullName;
    private EmulatorFactory _emulator = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _emulator = new EmulatorFactory(settings: new Dictionary<string, string?> { ["Emulator:WorkDirectory"] = _workDirectory });
        _http = _emulator.CreateNvcfClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
        Directory.Delete(_workDirectory, recursive: true);
    }

    [Fact]
    public async Task MinInstancesOfIntMaxIsRefusedAndNothingIsCreated()
    {
        var function = await _http.CreateFunctionAsync(new { name = "absurd", inferenceUrl = "/cgi-bin/env", containerImage = DockerFixture.CgiImage });
        var before = Entries();

        using var response = await _http.PostAsJsonAsync(
            $"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}",
            new { deploymentSpecifications = new[] { new { gpu = "L40", instanceType = "gl40_1.br20_2xlarge", minInstances = int.MaxValue, maxInstances = int.MaxValue } } });

        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        var detail = (string)problem["detail"]!;
        Assert.StartsWith("Account 'local-nca-id': Reached or exceeded the max limit for the number of instances per deployment allowed: 16.", detail, StringComparison.Ordinal);
        Assert.Contains("field=deploymentSpecifications.minInstances, rejected=2147483647", detail, StringComparison.Ordinal);
        await (await _http.GetAsync($"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}")).ProblemAsync(HttpStatusCode.NotFound);

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        Assert.Equal(before, Entries());
    }

    /// <summary>Everything under the work directory: the instances' folders would appear here.</summary>
    private string[] Entries() => [.. Directory.GetFileSystemEntries(_workDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
}
