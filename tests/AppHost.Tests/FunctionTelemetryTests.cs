using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Nvcf.AppHost.Tests;

/// <summary>A function with <c>WithTelemetry()</c> sends its own telemetry to the dashboard's OTLP endpoint, under its resource.</summary>
[Collection(AppHostCollection.Name)]
public sealed class FunctionTelemetryTests(AppHostFixture fixture)
{
    [Fact]
    public async Task AFunctionWithTelemetryGetsOtlpVariablesThatReachTheDashboardWithItsKey()
    {
        Assert.True(fixture.Notifications.TryGetCurrentState(AppHostFixture.TracedFunctionName, out var traced));
        Assert.Equal(KnownResourceStates.Running, traced.Snapshot.State?.Text);
        var functionId = traced.Snapshot.Properties.Single(p => p.Name == NvcfFunctionProperties.FunctionId).Value as string;
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppHostFixture.ApiKey);

        using var response = await client.PostAsync($"/v2/nvcf/pexec/functions/{functionId}", new StringContent("{}"));
        var seen = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2))
            .Where(kv => kv.Length == 2).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1]);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Named after the resource, so the dashboard shows it there; all three signals over gRPC, as Aspire exports.
        Assert.Equal(AppHostFixture.TracedFunctionName, seen["OTEL_SERVICE_NAME"]);
        Assert.Equal("grpc", seen["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        foreach (var signal in new[] { "LOGS", "METRICS", "TRACES" })
        {
            Assert.Equal(seen["OTEL_EXPORTER_OTLP_ENDPOINT"], seen[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]);
        }

        // The telemetry on the emulator points at the dashboard's endpoint; never shows its key.
        var telemetries = JsonNode.Parse(await client.GetStringAsync("/v2/nvcf/telemetries"))!["telemetries"]!.AsArray();
        var dashboard = Assert.Single(telemetries, t => ((string)t!["name"]!).StartsWith("aspire-dashboard-", StringComparison.Ordinal))!;
        Assert.Equal("OTEL_COLLECTOR", (string?)dashboard["provider"]);
        Assert.DoesNotContain(AppHostFixture.OtlpApiKey, telemetries.ToJsonString(), StringComparison.Ordinal);

        // An export to the container's endpoint reaches the dashboard's, with the dashboard's API key.
        var marker = Guid.NewGuid().ToByteArray();
        using var http2 = new HttpClient();
        using var export = new HttpRequestMessage(HttpMethod.Post, seen["OTEL_EXPORTER_OTLP_ENDPOINT"] + "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, (byte)marker.Length, .. marker]),
        };
        export.Content.Headers.ContentType = new("application/grpc");
        using var answer = await http2.SendAsync(export);
        await answer.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var received = Assert.Single(fixture.Dashboard.Exports, e => e.Body.AsSpan().EndsWith(marker));
        Assert.Equal("/opentelemetry.proto.collector.trace.v1.TraceService/Export", received.Path);
        Assert.Equal(AppHostFixture.OtlpApiKey, received.ApiKey);
    }
}
