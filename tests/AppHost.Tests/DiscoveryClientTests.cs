using System.Net;
using System.Text.Json.Nodes;

namespace Nvcf.AppHost.Tests;

/// <summary>samples/discovery-client: a project that reaches the emulator through service discovery.</summary>
[Collection(AppHostCollection.Name)]
public sealed class DiscoveryClientTests(AppHostFixture fixture)
{
    private const string DiscoveryClientName = "discovery-client";

    [Fact]
    public async Task TheDiscoveryClientFindsTheEmulatorByServiceDiscoveryAndGetsTheEchoedText()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await fixture.Notifications.WaitForResourceHealthyAsync(DiscoveryClientName, WaitBehavior.StopOnResourceUnavailable, timeout.Token);
        using var client = fixture.App.CreateHttpClient(DiscoveryClientName);

        using var response = await client.GetAsync(new Uri("/ask?text=hello%20nvcf", UriKind.Relative), timeout.Token);

        var body = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("hello nvcf", (string?)JsonNode.Parse(body)?["text"]);
    }

    [Fact]
    public async Task TheAppHostPassesTheDeployedFunctionIdToTheDiscoveryClient()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.EchoFunctionName, out var echo));
        var functionId = echo.Snapshot.Properties.FirstOrDefault(p => p.Name == NvcfFunctionProperties.FunctionId)?.Value?.ToString();

        var discoveryClient = await fixture.Notifications.WaitForResourceAsync(DiscoveryClientName, e => e.Snapshot.State?.Text == KnownResourceStates.Running, timeout.Token);

        Assert.True(Guid.TryParse(functionId, out _));
        Assert.Equal(functionId, discoveryClient.Snapshot.EnvironmentVariables.SingleOrDefault(e => e.Name == "Nvcf__FunctionId")?.Value);
    }
}
