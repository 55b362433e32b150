using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// A function created with <c>telemetries</c>, on the real engine: its container gets the OTLP variables, reaches the
/// telemetry's endpoint on this machine's loopback through the emulator, and each invocation carries the caller's trace.
/// </summary>
[Collection(DockerCollection.Name)]
public class TelemetryOnTheEngineTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task TheContainerGetsTheCallersTraceAndItsOtlpVariablesAndReachesTheTelemetryEndpointOnLoopback()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var telemetryId = await CreateTelemetryAsync(new
        {
            endpoint = $"http://127.0.0.1:{receiver.Port}/otlp",
            protocol = "HTTP",
            provider = "OTEL_COLLECTOR",
            types = new[] { "TRACES", "METRICS" },
            secret = new { name = "collector-" + Guid.NewGuid().ToString("N")[..8], value = "s3cret-token" },
        });
        var function = await DeployAsync("traced-fn", new { tracesTelemetryId = telemetryId, metricsTelemetryId = telemetryId });

        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string callersSpan = "00f067aa0ba902b7";
        using var response = await docker.Http.InvokeAsync(function.Id(), "{}", configure: r =>
        {
            r.Headers.Add("traceparent", $"00-{traceId}-{callersSpan}-01");
            r.Headers.Add("tracestate", "vendor=value");
        });
        var seen = await ReportAsync(response);

        // One trace from the caller into the container, whose parent is the emulator's span, not the caller's.
        var traceparent = seen["traceparent"].Split('-');
        Assert.Equal(4, traceparent.Length);
        Assert.Equal(traceId, traceparent[1]);
        Assert.NotEqual(callersSpan, traceparent[2]);
        Assert.Equal("vendor=value", seen["tracestate"]);

        var instance = (await docker.Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}"))!
            ["function"]!["activeInstances"]![0]!["instanceId"]!.ToString();
        Assert.Equal("traced-fn", seen["OTEL_SERVICE_NAME"]);
        Assert.Equal("http/protobuf", seen["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.Equal(seen["OTEL_EXPORTER_OTLP_ENDPOINT"] + "/v1/traces", seen["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        Assert.Equal(seen["OTEL_EXPORTER_OTLP_ENDPOINT"] + "/v1/metrics", seen["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
        Assert.False(seen.ContainsKey("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"));
        Assert.DoesNotContain("127.0.0.1", seen["OTEL_EXPORTER_OTLP_ENDPOINT"], StringComparison.Ordinal);
        var attributes = seen["OTEL_RESOURCE_ATTRIBUTES"].Split(',');
        Assert.Contains($"function_id={function.Id()}", attributes);
        Assert.Contains($"function_version_id={function.VersionId()}", attributes);
        Assert.Contains($"instance_id={instance}", attributes);
        Assert.Contains($"service.instance.id={instance}", attributes);

        // The container's export arrived at the endpoint's path, with the telemetry's secret as a bearer token.
        Assert.Equal("export=ok", "export=" + seen["export"]);
        var export = Assert.Single(receiver.Requests);
        Assert.Equal("/otlp/v1/traces", export.Path);
        Assert.Equal("Bearer s3cret-token", export.Authorization);
        Assert.Equal("{\"resourceSpans\":[]}", export.Body);

        // HTTP invocation (a plain proxy) continues the caller's trace the same way.
        using var proxied = new HttpRequestMessage(HttpMethod.Post, "/cgi-bin/telemetry") { Content = new StringContent("{}") };
        proxied.Headers.Add("function-id", function.Id().ToString());
        proxied.Headers.Add("traceparent", $"00-{traceId}-{callersSpan}-01");
        proxied.Headers.Add("tracestate", "vendor=value");
        using var proxiedResponse = await docker.Http.SendAsync(proxied);
        var proxiedTrace = (await ReportAsync(proxiedResponse))["traceparent"].Split('-');
        Assert.Equal(traceId, proxiedTrace[1]);
        Assert.NotEqual(callersSpan, proxiedTrace[2]);
        Assert.NotEqual(traceparent[2], proxiedTrace[2]);

        // In use, the telemetry cannot be deleted; once its function is gone it can.
        using var refused = await docker.Http.DeleteAsync($"/v2/nvcf/telemetries/{telemetryId}");
        var problem = await refused.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains($"in use by Function id '{function.Id()}'", (string?)problem["detail"], StringComparison.Ordinal);
        await RemoveAsync(function, telemetryId);

        // Once the telemetry is gone, so is its relay.
        var relay = new Uri(seen["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        using var probe = new System.Net.Sockets.TcpClient();
        await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => probe.ConnectAsync(relay.Host, relay.Port));
    }

    [Fact]
    public async Task AGrpcTelemetryGetsGrpcVariablesAndItsRelayForwardsCallsOverTlsWithTheSecretsHeaders()
    {
        // As the Aspire dashboard's: HTTPS on localhost with a certificate nobody trusts.
        await using var receiver = await OtlpReceiver.StartAsync(grpc: true);
        var telemetryId = await CreateTelemetryAsync(new
        {
            endpoint = $"https://localhost:{receiver.Port}",
            protocol = "GRPC",
            provider = "OTEL_COLLECTOR",
            types = new[] { "LOGS", "METRICS", "TRACES" },
            secret = new { name = "grpc-" + Guid.NewGuid().ToString("N")[..8], value = new JsonObject { ["x-otlp-api-key"] = "key-1" } },
        });
        var function = await DeployAsync("grpc-traced-fn", new { logsTelemetryId = telemetryId, tracesTelemetryId = telemetryId });
        using var response = await docker.Http.InvokeAsync(function.Id(), "{}");
        var seen = await ReportAsync(response);
        Assert.Equal("grpc", seen["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.Equal("grpc", seen["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"]);
        Assert.Equal(seen["OTEL_EXPORTER_OTLP_ENDPOINT"], seen["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        Assert.Equal(seen["OTEL_EXPORTER_OTLP_ENDPOINT"], seen["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]);

        // An OTLP/gRPC export as an SDK makes it (cleartext HTTP/2), to the relay the container was given.
        using var client = new HttpClient();
        using var export = new HttpRequestMessage(HttpMethod.Post, seen["OTEL_EXPORTER_OTLP_ENDPOINT"] + "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(new byte[5]),
        };
        export.Content.Headers.ContentType = new("application/grpc");
        export.Headers.TryAddWithoutValidation("TE", "trailers");
        using var answer = await client.SendAsync(export);
        await answer.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("0", answer.TrailingHeaders.GetValues("grpc-status").Single());

        var call = Assert.Single(receiver.Requests);
        Assert.Equal("/opentelemetry.proto.collector.trace.v1.TraceService/Export", call.Path);
        Assert.Equal("key-1", call.ApiKey);
        Assert.Equal(string.Empty, call.Authorization);

        await RemoveAsync(function, telemetryId);
    }

    private async Task<string> CreateTelemetryAsync(object request)
    {
        using var created = await docker.Http.PostAsJsonAsync("/v2/nvcf/telemetries", request);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["telemetry"]!["telemetryId"]!;
    }

    /// <summary>Creates and deploys the busybox function whose handler reports its trace context and OTEL_* variables.</summary>
    private async Task<JsonObject> DeployAsync(string name, object telemetries)
    {
        var function = await docker.Http.CreateFunctionAsync(new
        {
            name,
            inferenceUrl = "/cgi-bin/telemetry",
            containerImage = await TestImages.CgiScriptsAsync(),
            telemetries,
        });
        await docker.Http.DeployAsync(function);
        await docker.Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        return function;
    }

    /// <summary>The handler's <c>name=value</c> lines.</summary>
    private static async Task<Dictionary<string, string>> ReportAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1]);
    }

    /// <summary>Undeploys and deletes the function, then its telemetry, which can go once nothing uses it.</summary>
    private async Task RemoveAsync(JsonObject function, string telemetryId)
    {
        await docker.Http.UndeployAsync(function);
        using var deletedFunction = await docker.Http.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.NoContent, deletedFunction.StatusCode);
        using var deleted = await docker.Http.DeleteAsync($"/v2/nvcf/telemetries/{telemetryId}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    /// <summary>An OTLP endpoint on 127.0.0.1 (HTTP, or gRPC over cleartext HTTP/2) that records what it receives.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private OtlpReceiver(WebApplication app) => _app = app;

        public ConcurrentQueue<Received> Requests { get; } = new();

        public int Port => new Uri(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()).Port;

        public static async Task<OtlpReceiver> StartAsync(bool grpc = false)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = grpc ? Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2 : Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                if (grpc)
                {
                    listen.UseHttps(SelfSignedCertificate());
                }
            }));
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.Run(async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var headers = context.Request.Headers;
                receiver.Requests.Enqueue(new Received(context.Request.Path, headers.Authorization.ToString(), headers["x-otlp-api-key"].ToString(), await reader.ReadToEndAsync()));
                if (grpc)
                {
                    context.Response.ContentType = "application/grpc";
                    await context.Response.Body.WriteAsync(new byte[5]);
                    context.Response.AppendTrailer("grpc-status", "0");
                    return;
                }

                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{}");
            });
            await app.StartAsync();
            return receiver;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();

        private static System.Security.Cryptography.X509Certificates.X509Certificate2 SelfSignedCertificate()
        {
            using var key = System.Security.Cryptography.RSA.Create(2048);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
                "CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx), null);
        }

        public sealed record Received(string Path, string Authorization, string ApiKey, string Body);
    }
}
