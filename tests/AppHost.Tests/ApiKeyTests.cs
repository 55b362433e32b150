using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Nvcf.AppHost.Tests;

/// <summary>
/// An emulator given a key with <c>WithApiKey</c> (the fixture's): the integration deploys its functions with that key,
/// and a call without it is refused as the cloud refuses an unknown key.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class ApiKeyTests(AppHostFixture fixture)
{
    [Fact]
    public async Task TheIntegrationDeploysWithTheConfiguredKeyAndACallWithoutItGets401()
    {
        // The integration created and deployed echo through the emulator's API, which accepts only the key.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var echo = await fixture.Notifications.WaitForResourceAsync(
            AppHostFixture.EchoFunctionName, e => e.Snapshot.HealthStatus == HealthStatus.Healthy, timeout.Token);
        Assert.Equal("ACTIVE", echo.Snapshot.Properties.Single(p => p.Name == NvcfFunctionProperties.FunctionStatus).Value?.ToString());
        var functionId = echo.Snapshot.Properties.Single(p => p.Name == NvcfFunctionProperties.FunctionId).Value?.ToString();
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);

        Assert.Equal(HttpStatusCode.OK, await InvokeAsync(client, functionId, AppHostFixture.ApiKey));
        foreach (var other in new[] { "local", "test" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await InvokeAsync(client, functionId, other));
        }

        using var list = new HttpRequestMessage(HttpMethod.Get, "/v2/nvcf/functions");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "local");
        using var refused = await client.SendAsync(list);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Unauthorized access", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["detail"]);
    }

    private static async Task<HttpStatusCode> InvokeAsync(HttpClient client, string? functionId, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{functionId}") { Content = new StringContent("{}") };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
