using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Nvcf.AppHost.Tests;

/// <summary>The emulator keeps its state in Redis (WithRedisState): a restart of its resource loses nothing.</summary>
[Collection(AppHostCollection.Name)]
public sealed class EmulatorRestartTests(AppHostFixture fixture)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);

    private static readonly string[] s_functions =
    [
        AppHostFixture.EchoFunctionName,
        AppHostFixture.MissingImageFunctionName,
        AppHostFixture.DockerfileFunctionName,
        AppHostFixture.DockerfileVersionName,
        AppHostFixture.BrokenBuildFunctionName,
    ];

    [Fact]
    public async Task RestartingTheEmulatorKeepsEachFunctionAndVersionItsOwnVersionAndTheEchoContainers()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        var cancellationToken = timeout.Token;
        const string echo = AppHostFixture.EchoFunctionName;
        await fixture.Notifications.WaitForResourceAsync(echo, KnownResourceStates.Running, cancellationToken);
        var functionId = Property(echo, NvcfFunctionProperties.FunctionId);
        var versionId = Property(echo, NvcfFunctionProperties.VersionId);
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);
        var versionPath = $"/v2/nvcf/functions/{functionId}/versions/{versionId}";
        var before = await LocationsAsync(client, versionPath, cancellationToken);
        Assert.NotEmpty(before);
        string[] cgiResources = [AppHostFixture.DockerfileFunctionName, AppHostFixture.DockerfileVersionName];
        var cgiIds = cgiResources.ToDictionary(n => n, n => (Property(n, NvcfFunctionProperties.FunctionId), Property(n, NvcfFunctionProperties.VersionId)));

        // Each function shows Exited while the emulator is down, then deploys (or fails) again.
        var exited = s_functions.Select(f => fixture.Notifications.WaitForResourceAsync(f, KnownResourceStates.Exited, cancellationToken)).ToArray();
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var restartedAt = DateTime.UtcNow;
        var restart = await commands.ExecuteCommandAsync(AppHostFixture.EmulatorName, KnownResourceCommands.RestartCommand, cancellationToken);
        Assert.True(restart.Success, restart.Message);
        await Task.WhenAll(exited);
        // Right after the restart the resource can still report its previous run (Finished) for a moment: wait for the
        // new run, started after the restart, to be running and healthy.
        await fixture.Notifications.WaitForResourceAsync(
            AppHostFixture.EmulatorName,
            e => e.Snapshot.State?.Text == KnownResourceStates.Running && e.Snapshot.HealthStatus == HealthStatus.Healthy && e.Snapshot.StartTimeStamp >= restartedAt,
            cancellationToken);
        foreach (var function in s_functions)
        {
            await fixture.WaitForDeploymentAsync(function, cancellationToken);
        }

        // Same function, same version, one entry by that name, the same containers (adopted), and it answers.
        Assert.True(fixture.Notifications.TryGetCurrentState(echo, out var state));
        Assert.Equal(KnownResourceStates.Running, state.Snapshot.State?.Text);
        Assert.Equal(functionId, Property(echo, NvcfFunctionProperties.FunctionId));
        Assert.Equal(versionId, Property(echo, NvcfFunctionProperties.VersionId));
        var all = JsonNode.Parse(await client.GetStringAsync("/v2/nvcf/functions", cancellationToken))!["functions"]!.AsArray();
        Assert.Single(all, f => (string?)f!["name"] == echo);
        Assert.Equal(before.Order(StringComparer.Ordinal), (await LocationsAsync(client, versionPath, cancellationToken)).Order(StringComparer.Ordinal));

        // The function cgi and its version cgi-v2 each found their own version again (by the resource name the
        // integration tags each version with), not each other's, and no new version was made.
        foreach (var (name, ids) in cgiIds)
        {
            Assert.Equal(ids, (Property(name, NvcfFunctionProperties.FunctionId), Property(name, NvcfFunctionProperties.VersionId)));
        }

        var cgiVersions = JsonNode.Parse(await client.GetStringAsync($"/v2/nvcf/functions/{cgiIds[AppHostFixture.DockerfileFunctionName].Item1}/versions", cancellationToken))!["functions"]!.AsArray();
        Assert.Equal(
            cgiResources.Select(n => (cgiIds[n].Item2, (string?)$"aspire-resource={n}")).Order(),
            cgiVersions.Select(v => ((string?)v!["versionId"], (string?)v["tags"]?.AsArray().Single())).Order());

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{functionId}")
        {
            Content = JsonContent.Create(new JsonObject { ["after"] = "restart" }),
        };
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private string? Property(string name, string property)
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(name, out var e));
        return e.Snapshot.Properties.FirstOrDefault(p => p.Name == property)?.Value?.ToString();
    }

    private static async Task<string[]> LocationsAsync(HttpClient client, string versionPath, CancellationToken cancellationToken)
    {
        var body = JsonNode.Parse(await client.GetStringAsync(versionPath, cancellationToken))!;
        return body["function"]?["activeInstances"]?.AsArray().Select(i => (string)i!["location"]!).ToArray() ?? [];
    }
}
