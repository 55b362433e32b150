using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Nvcf.AppHost.Tests;

[Collection(AppHostCollection.Name)]
public sealed class FunctionResourceTests(AppHostFixture fixture)
{
    [Fact]
    public void TheEchoFunctionResourceIsActiveWithAFunctionId()
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.EchoFunctionName, out var echo));

        var snapshot = echo.Snapshot;
        Assert.Equal(NvcfFunctionProperties.ResourceType, snapshot.ResourceType);
        Assert.Equal(KnownResourceStates.Running, snapshot.State?.Text);
        Assert.Equal(HealthStatus.Healthy, snapshot.HealthStatus);
        Assert.Equal("ACTIVE", Property(snapshot, NvcfFunctionProperties.FunctionStatus));
        Assert.True(Guid.TryParse(Property(snapshot, NvcfFunctionProperties.FunctionId), out _));
        Assert.True(Guid.TryParse(Property(snapshot, NvcfFunctionProperties.VersionId), out _));
        Assert.Contains(snapshot.Urls, u => u.Url.Contains($"/v2/nvcf/pexec/functions/{Property(snapshot, NvcfFunctionProperties.FunctionId)}", StringComparison.Ordinal));

        // What the deployment asked for and what it runs on: the CPU on machines without a GPU, as in CI.
        Assert.StartsWith("asked L40 × 1 per instance", Property(snapshot, NvcfFunctionProperties.GpuPlacement), StringComparison.Ordinal);
        Assert.Contains(snapshot.Properties, p => p.Name.StartsWith(NvcfFunctionProperties.InstancePrefix, StringComparison.Ordinal) && p.Value is string v && v.Contains(" (ACTIVE, ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvokingTheEchoFunctionThroughTheEmulatorEchoesTheBodyWithNvcfHeaders()
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.EchoFunctionName, out var echo));
        var functionId = Property(echo.Snapshot, NvcfFunctionProperties.FunctionId);
        var versionId = Property(echo.Snapshot, NvcfFunctionProperties.VersionId);
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        var body = new JsonObject { ["hello"] = "nvcf", ["n"] = 42 };

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{functionId}")
        {
            Content = JsonContent.Create(body),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(JsonNode.DeepEquals(body, JsonNode.Parse(await response.Content.ReadAsStringAsync())));
        Assert.False(string.IsNullOrEmpty(Header(response, "NVCF-REQID")));
        Assert.Equal("fulfilled", Header(response, "NVCF-STATUS"));
        Assert.Equal(versionId, Header(response, "X-Echo-Function-Version-Id"));
    }

    [Fact]
    public async Task TheEchoContainersOwnRequestLinesAppearInTheFunctionsLog()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var cancellationToken = timeout.Token;
        await fixture.Notifications.WaitForResourceAsync(AppHostFixture.EchoFunctionName, KnownResourceStates.Running, cancellationToken);
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.EchoFunctionName, out var echo));
        var functionId = Property(echo.Snapshot, NvcfFunctionProperties.FunctionId);
        var loggers = fixture.App.Services.GetRequiredService<ResourceLoggerService>();
        var seen = Task.Run(
            async () =>
            {
                await foreach (var batch in loggers.WatchAsync(echo.ResourceId).WithCancellation(cancellationToken))
                {
                    if (batch.FirstOrDefault(l => l.Content.Contains("POST /echo -> 200 in ", StringComparison.Ordinal)) is { Content: { } line })
                    {
                        return line;
                    }
                }

                return null;
            },
            cancellationToken);

        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{functionId}")
        {
            Content = JsonContent.Create(new JsonObject { ["log"] = "me" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.NotNull(await seen);
    }

    [Fact]
    public void AFunctionWhoseImageIsMissingFailsToStartWithTheEmulatorsReason()
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.MissingImageFunctionName, out var missing));

        var snapshot = missing.Snapshot;
        Assert.Equal(KnownResourceStates.FailedToStart, snapshot.State?.Text);
        Assert.Equal("ERROR", Property(snapshot, NvcfFunctionProperties.FunctionStatus));
        Assert.Contains("nvcf-samples/does-not-exist:latest", Property(snapshot, NvcfFunctionProperties.Error), StringComparison.Ordinal);
    }

    private static string? Property(CustomResourceSnapshot snapshot, string name) =>
        snapshot.Properties.FirstOrDefault(p => p.Name == name)?.Value?.ToString();

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
