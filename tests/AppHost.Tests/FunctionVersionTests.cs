using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Nvcf.AppHost.Tests;

/// <summary>
/// A second version of a function (<c>cgi.AddVersion("cgi-v2")</c>): its own resource under the function, deployed next
/// to the function's version, both answering invocations by function ID. The cgi function prints its environment,
/// with <c>VERSION=v1</c>; the version overrides it with <c>v2</c>.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class FunctionVersionTests(AppHostFixture fixture)
{
    private const string Function = AppHostFixture.DockerfileFunctionName;
    private const string Version = AppHostFixture.DockerfileVersionName;
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task TheVersionIsAResourceUnderItsFunctionWithTheSameFunctionIdAndItsOwnVersionId()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        var function = await fixture.Notifications.WaitForResourceAsync(Function, e => e.Snapshot.State?.Text == KnownResourceStates.Running, timeout.Token);
        var version = await fixture.Notifications.WaitForResourceAsync(Version, e => e.Snapshot.State?.Text == KnownResourceStates.Running, timeout.Token);

        Assert.Equal(NvcfFunctionProperties.VersionResourceType, version.Snapshot.ResourceType);
        Assert.Contains(version.Snapshot.Relationships, r => r.ResourceName == Function && r.Type == "Parent");
        Assert.Equal("ACTIVE", Property(function, NvcfFunctionProperties.FunctionStatus));
        Assert.Equal("ACTIVE", Property(version, NvcfFunctionProperties.FunctionStatus));
        Assert.Equal(Property(function, NvcfFunctionProperties.FunctionId), Property(version, NvcfFunctionProperties.FunctionId));
        Assert.True(Guid.TryParse(Property(version, NvcfFunctionProperties.VersionId), out _));
        Assert.NotEqual(Property(function, NvcfFunctionProperties.VersionId), Property(version, NvcfFunctionProperties.VersionId));
        Assert.Contains(version.Snapshot.Properties, p => p.Name.StartsWith(NvcfFunctionProperties.InstancePrefix, StringComparison.Ordinal));
        // Built from the function's Dockerfile under its own tag.
        Assert.Equal($"nvcf-apphost/{Version}:dev", Property(version, CustomResourceKnownProperties.Source));
    }

    [Fact]
    public async Task InvokingByFunctionIdReachesBothVersions()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        await fixture.Notifications.WaitForResourceAsync(Function, KnownResourceStates.Running, timeout.Token);
        await fixture.Notifications.WaitForResourceAsync(Version, KnownResourceStates.Running, timeout.Token);
        using var client = Client();

        var seen = new List<string?>();
        for (var i = 0; i < 20 || (i < 60 && seen.Distinct().Count() < 2); i++)
        {
            seen.Add(await InvokeAsync(client, timeout.Token));
        }

        Assert.Equal(["v1", "v2"], seen.Distinct().Order());
    }

    [Fact]
    public async Task UndeployingTheVersionLeavesTheFunctionsVersionServingEveryRequest()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        var cancellationToken = timeout.Token;
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        await fixture.Notifications.WaitForResourceAsync(Function, KnownResourceStates.Running, cancellationToken);
        await fixture.Notifications.WaitForResourceAsync(Version, KnownResourceStates.Running, cancellationToken);
        using var client = Client();

        var undeploy = await commands.ExecuteCommandAsync(Version, NvcfFunctionProperties.UndeployCommand, cancellationToken);
        Assert.True(undeploy.Success, undeploy.Message);
        await fixture.Notifications.WaitForResourceAsync(Version, NvcfFunctionProperties.UndeployedState, cancellationToken);
        Assert.True(fixture.Notifications.TryGetCurrentState(Function, out var function));
        Assert.Equal(KnownResourceStates.Running, function.Snapshot.State?.Text);

        var seen = new List<string?>();
        for (var i = 0; i < 10; i++)
        {
            seen.Add(await InvokeAsync(client, cancellationToken));
        }

        Assert.All(seen, v => Assert.Equal("v1", v));

        // Deployed again, for the other tests.
        var deploy = await commands.ExecuteCommandAsync(Version, NvcfFunctionProperties.DeployCommand, cancellationToken);
        Assert.True(deploy.Success, deploy.Message);
        await fixture.Notifications.WaitForResourceAsync(Version, KnownResourceStates.Running, cancellationToken);
    }

    [Fact]
    public void AVersionWhoseFunctionCannotBeCreatedFailsWithTheFunctionsCause()
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.RefusedFunctionName, out var function));
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.RefusedVersionName, out var version));

        Assert.Equal(KnownResourceStates.FailedToStart, function.Snapshot.State?.Text);
        Assert.Contains("NOT-A-NAME", Property(function, NvcfFunctionProperties.Error), StringComparison.Ordinal);
        Assert.Equal(KnownResourceStates.FailedToStart, version.Snapshot.State?.Text);
        var error = Property(version, NvcfFunctionProperties.Error);
        Assert.StartsWith($"The function '{AppHostFixture.RefusedFunctionName}' was not created, so its version '{AppHostFixture.RefusedVersionName}' cannot be:", error, StringComparison.Ordinal);
        Assert.Contains("NOT-A-NAME", error, StringComparison.Ordinal);
        Assert.Null(Property(version, NvcfFunctionProperties.FunctionId));
    }

    private HttpClient Client()
    {
        var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);
        return client;
    }

    /// <summary>One pexec by function ID; the answering container's <c>VERSION</c>.</summary>
    private async Task<string?> InvokeAsync(HttpClient client, CancellationToken cancellationToken)
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(Function, out var function));
        using var response = await client.PostAsync(
            $"/v2/nvcf/pexec/functions/{Property(function, NvcfFunctionProperties.FunctionId)}",
            JsonContent.Create(new JsonObject { ["hello"] = "versions" }),
            cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return body.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("VERSION=", StringComparison.Ordinal))?["VERSION=".Length..];
    }

    private static string? Property(ResourceEvent resource, string name) =>
        resource.Snapshot.Properties.FirstOrDefault(p => p.Name == name)?.Value?.ToString();
}
