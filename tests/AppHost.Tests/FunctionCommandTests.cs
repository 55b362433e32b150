using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Nvcf.AppHost.Tests;

/// <summary>The dashboard's commands on a function resource, executed through Aspire's command service.</summary>
[Collection(AppHostCollection.Name)]
public sealed class FunctionCommandTests(AppHostFixture fixture)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task UndeployDeployAndRedeployCommandsChangeTheEmulatorsDeployment()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        var cancellationToken = timeout.Token;
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        const string name = AppHostFixture.DockerfileFunctionName;
        var (functionId, versionId) = Ids(name);
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);
        var deploymentPath = $"/v2/nvcf/deployments/functions/{functionId}/versions/{versionId}";
        var versionPath = $"/v2/nvcf/functions/{functionId}/versions/{versionId}";

        await fixture.Notifications.WaitForResourceAsync(name, KnownResourceStates.Running, cancellationToken);
        Assert.Equal(ResourceCommandState.Disabled, CommandState(name, NvcfFunctionProperties.DeployCommand));
        Assert.Equal(ResourceCommandState.Enabled, CommandState(name, NvcfFunctionProperties.UndeployCommand));

        // Undeploy: the deployment is gone, the resource says so, and only Deploy (and Redeploy) remain useful.
        var undeploy = await commands.ExecuteCommandAsync(name, NvcfFunctionProperties.UndeployCommand, cancellationToken);
        Assert.True(undeploy.Success, undeploy.Message);
        using (var response = await client.GetAsync(deploymentPath, cancellationToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        await fixture.Notifications.WaitForResourceAsync(name, NvcfFunctionProperties.UndeployedState, cancellationToken);
        Assert.Equal("INACTIVE", Property(name, NvcfFunctionProperties.FunctionStatus));
        Assert.Equal(ResourceCommandState.Enabled, CommandState(name, NvcfFunctionProperties.DeployCommand));
        Assert.Equal(ResourceCommandState.Disabled, CommandState(name, NvcfFunctionProperties.UndeployCommand));

        // Deploy: ACTIVE again, same function and version.
        var deploy = await commands.ExecuteCommandAsync(name, NvcfFunctionProperties.DeployCommand, cancellationToken);
        Assert.True(deploy.Success, deploy.Message);
        await fixture.Notifications.WaitForResourceAsync(name, KnownResourceStates.Running, cancellationToken);
        Assert.Equal((functionId, versionId), Ids(name));
        var before = await LocationsAsync(client, versionPath, cancellationToken);
        Assert.NotEmpty(before);

        // Redeploy: new containers (the image rebuilt and resolved again), ACTIVE again.
        var redeploy = await commands.ExecuteCommandAsync(name, NvcfFunctionProperties.RedeployCommand, cancellationToken);
        Assert.True(redeploy.Success, redeploy.Message);
        await fixture.Notifications.WaitForResourceAsync(name, KnownResourceStates.Running, cancellationToken);
        var after = await LocationsAsync(client, versionPath, cancellationToken);
        Assert.NotEmpty(after);
        Assert.Empty(after.Intersect(before));

        // The resource lists the new instances (refreshed every 5 s).
        var shown = await fixture.Notifications.WaitForResourceAsync(
            name,
            e => e.Snapshot.Properties.Any(p => p.Name.StartsWith(NvcfFunctionProperties.InstancePrefix, StringComparison.Ordinal) && p.Value is string v && v.StartsWith(after[0], StringComparison.Ordinal)),
            cancellationToken);
        Assert.Equal(after.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), shown.Snapshot.Properties.Single(p => p.Name == NvcfFunctionProperties.InstanceCount).Value);
    }

    [Fact]
    public async Task RestartInstancesReplacesTheContainersAndKeepsTheFunctionAndVersion()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        var cancellationToken = timeout.Token;
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        const string name = AppHostFixture.DockerfileFunctionName;
        await fixture.Notifications.WaitForResourceAsync(name, KnownResourceStates.Running, cancellationToken);
        var (functionId, versionId) = Ids(name);
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);
        var versionPath = $"/v2/nvcf/functions/{functionId}/versions/{versionId}";
        var before = await LocationsAsync(client, versionPath, cancellationToken);
        Assert.NotEmpty(before);
        Assert.Equal(ResourceCommandState.Enabled, CommandState(name, NvcfFunctionProperties.RestartCommand));

        var restart = await commands.ExecuteCommandAsync(name, NvcfFunctionProperties.RestartCommand, cancellationToken);
        Assert.True(restart.Success, restart.Message);

        await fixture.Notifications.WaitForResourceAsync(name, KnownResourceStates.Running, cancellationToken);
        Assert.Equal((functionId, versionId), Ids(name));
        var after = await LocationsAsync(client, versionPath, cancellationToken);
        Assert.NotEmpty(after);
        Assert.Empty(after.Intersect(before));
    }

    [Fact]
    public async Task ReplaceAnInstanceStopsTheOldestAndTheNextTakesItsPlace()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        var cancellationToken = timeout.Token;
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        const string name = AppHostFixture.DockerfileFunctionName;
        await fixture.Notifications.WaitForResourceAsync(name, KnownResourceStates.Running, cancellationToken);
        var (functionId, versionId) = Ids(name);
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);
        var versionPath = $"/v2/nvcf/functions/{functionId}/versions/{versionId}";
        var before = await InstancesAsync(client, versionPath, cancellationToken);
        Assert.NotEmpty(before);
        var oldest = before.OrderBy(i => i.CreatedAt).First().Id;
        Assert.Equal(ResourceCommandState.Enabled, CommandState(name, NvcfFunctionProperties.ReplaceInstanceCommand));

        var replace = await commands.ExecuteCommandAsync(name, NvcfFunctionProperties.ReplaceInstanceCommand, cancellationToken);
        Assert.True(replace.Success, replace.Message);
        Assert.Contains(oldest, replace.Message, StringComparison.Ordinal);

        // The oldest is gone at once; a new one, with another ID, becomes ACTIVE in its place.
        Assert.DoesNotContain(await InstancesAsync(client, versionPath, cancellationToken), i => i.Id == oldest);
        while (true)
        {
            var after = await InstancesAsync(client, versionPath, cancellationToken);
            if (after.Length == before.Length && after.All(i => i.Status == "ACTIVE"))
            {
                Assert.DoesNotContain(after, i => i.Id == oldest);
                break;
            }

            await Task.Delay(200, cancellationToken);
        }

        Assert.Equal((functionId, versionId), Ids(name));
    }

    [Fact]
    public void AFunctionBuiltFromADockerfileRunsItsBuiltImage()
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.DockerfileFunctionName, out var cgi));
        Assert.Equal($"nvcf-apphost/{AppHostFixture.DockerfileFunctionName}:dev", Property(AppHostFixture.DockerfileFunctionName, CustomResourceKnownProperties.Source));
        Assert.EndsWith("Dockerfile", Property(AppHostFixture.DockerfileFunctionName, NvcfFunctionProperties.Dockerfile), StringComparison.Ordinal);
        Assert.NotEqual(KnownResourceStates.FailedToStart, cgi.Snapshot.State?.Text);
    }

    [Fact]
    public void AFunctionWhoseDockerfileIsMissingFailsToStartNamingThePathToFix()
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.BrokenBuildFunctionName, out var broken));

        Assert.Equal(KnownResourceStates.FailedToStart, broken.Snapshot.State?.Text);
        Assert.Matches(
            @"^There is no Dockerfile at /\S+/tests/images/busybox-cgi/Dockerfile\.does-not-exist\. Add it, or fix the dockerfile argument of AddNvcfFunctionFromDockerfile",
            Property(AppHostFixture.BrokenBuildFunctionName, NvcfFunctionProperties.Error));
        Assert.Null(Property(AppHostFixture.BrokenBuildFunctionName, NvcfFunctionProperties.FunctionId));
        Assert.Equal(ResourceCommandState.Enabled, CommandState(AppHostFixture.BrokenBuildFunctionName, NvcfFunctionProperties.DeployCommand));
    }

    private (string FunctionId, string VersionId) Ids(string name) =>
        (Property(name, NvcfFunctionProperties.FunctionId)!, Property(name, NvcfFunctionProperties.VersionId)!);

    private string? Property(string name, string property)
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(name, out var e));
        return e.Snapshot.Properties.FirstOrDefault(p => p.Name == property)?.Value?.ToString();
    }

    private ResourceCommandState? CommandState(string name, string command)
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(name, out var e));
        return e.Snapshot.Commands.FirstOrDefault(c => c.Name == command)?.State;
    }

    /// <summary>The version's instances: ID, status and when each was created.</summary>
    private static async Task<(string Id, string Status, DateTime CreatedAt)[]> InstancesAsync(HttpClient client, string versionPath, CancellationToken cancellationToken)
    {
        var body = JsonNode.Parse(await client.GetStringAsync(versionPath, cancellationToken))!;
        return body["function"]?["activeInstances"]?.AsArray()
            .Select(i => ((string)i!["instanceId"]!, (string)i["instanceStatus"]!, (DateTime)i["instanceCreatedAt"]!))
            .ToArray() ?? [];
    }

    /// <summary>The container names of the version's running instances (<c>activeInstances[].location</c>).</summary>
    private static async Task<string[]> LocationsAsync(HttpClient client, string versionPath, CancellationToken cancellationToken)
    {
        var body = JsonNode.Parse(await client.GetStringAsync(versionPath, cancellationToken))!;
        return body["function"]?["activeInstances"]?.AsArray().Select(i => (string)i!["location"]!).ToArray() ?? [];
    }
}
