using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Otlp;

/// <summary>
/// The emulator's stand-in for the cloud's OpenTelemetry collector beside each function
/// (docs/nvcf-contract.md#telemetry-in-the-container). A telemetry endpoint is usually on this machine's loopback (the
/// Aspire dashboard's OTLP port, often HTTPS with a development certificate), which a container on a bridge network
/// cannot reach. So each telemetry a deployed version names gets a listener of its own on an address the containers
/// reach (the Docker bridge's gateway, or 127.0.0.1 on the host's network), speaking the telemetry's protocol
/// (HTTP/1.1 for OTLP/HTTP, cleartext HTTP/2 for OTLP/gRPC). Each export is forwarded as it came to the telemetry's
/// endpoint, with the telemetry's secret as <c>Authorization: Bearer</c> (the cloud's collector does so for
/// <c>OTEL_COLLECTOR</c>) or, for a JSON-object secret, its members as headers. The relay's own requests are not traced.
/// </summary>
public sealed class OtlpRelay(
    IFunctionStore store, IOptions<EmulatorOptions> options, IOptions<DockerRuntimeOptions> docker, ILogger<OtlpRelay> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, Lazy<Task<Listener>>> _listeners = new();
    private readonly ConcurrentDictionary<Guid, bool> _warned = new();
    private readonly Lazy<(IPAddress? Address, string Reason)> _address = new(() => ResolveAddress(options.Value, docker.Value));

    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        ActivityHeadersPropagator = null,
        SslOptions =
        {
            // A telemetry endpoint on this machine's loopback is a local collector or the Aspire dashboard, usually
            // with a development certificate: accepted as it is. Any other endpoint's certificate must be valid.
            RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None || (sender is System.Net.Security.SslStream ssl && IsLoopback(ssl.TargetHostName)),
        },
    });

    /// <summary>
    /// Where the instances of <paramref name="version"/> send each signal it names a telemetry for; null when it names
    /// none. Starts the relay of each telemetry on first use.
    /// </summary>
    public async Task<InstanceTelemetry?> ResolveAsync(FunctionVersion version, CancellationToken cancellationToken)
    {
        if (version.Telemetries is not { } telemetries)
        {
            return null;
        }

        return new InstanceTelemetry(
            await ExportOfAsync(telemetries.LogsTelemetryId, version.NcaId, cancellationToken),
            await ExportOfAsync(telemetries.MetricsTelemetryId, version.NcaId, cancellationToken),
            await ExportOfAsync(telemetries.TracesTelemetryId, version.NcaId, cancellationToken));
    }

    /// <summary>Where a signal goes: a telemetry of the function's own account, never another's.</summary>
    private async Task<TelemetryExport?> ExportOfAsync(Guid? telemetryId, string ncaId, CancellationToken cancellationToken)
    {
        if (telemetryId is not { } id || await store.GetTelemetryAsync(id, cancellationToken) is not { } telemetry || telemetry.NcaId != ncaId)
        {
            return null;
        }

        if (_address.Value.Address is null)
        {
            if (_warned.TryAdd(Guid.Empty, true))
            {
                logger.TelemetryRelayUnavailable(_address.Value.Reason);
            }

            return new TelemetryExport(telemetry.Endpoint, telemetry.Protocol);
        }

        var starting = _listeners.GetOrAdd(id, _ => new Lazy<Task<Listener>>(() => StartAsync(telemetry)));
        try
        {
            var listener = await starting.Value;
            return new TelemetryExport(listener.Address.ToString().TrimEnd('/'), telemetry.Protocol);
        }
        catch (IOException e)
        {
            // The next deployment tries again; this one's containers get the endpoint as it is.
            _listeners.TryRemove(new(id, starting));
            logger.TelemetryRelayUnavailable(e.Message);
            return new TelemetryExport(telemetry.Endpoint, telemetry.Protocol);
        }
    }

    private async Task<Listener> StartAsync(Telemetry telemetry)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(
            _address.Value.Address!,
            0,
            listen => listen.Protocols = telemetry.Protocol == TelemetryProtocol.Grpc ? HttpProtocols.Http2 : HttpProtocols.Http1));
        var app = builder.Build();
        var telemetryId = telemetry.TelemetryId;
        app.Run(context => RelayAsync(context, telemetryId));
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        logger.TelemetryRelayListening(telemetry.Name, telemetry.Protocol, address, telemetry.Endpoint);
        return new Listener(app, address);
    }

    /// <summary>Forwards one OTLP export (HTTP or gRPC) to the telemetry's endpoint and relays the answer.</summary>
    private async Task RelayAsync(HttpContext context, Guid telemetryId)
    {
        // The relay is plumbing, not part of anyone's trace: its server span is never exported, its client span never made.
        if (Activity.Current is { } server)
        {
            server.IsAllDataRequested = false;
            server.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }

        using var suppressed = OpenTelemetry.SuppressInstrumentationScope.Begin();
        var aborted = context.RequestAborted;
        var telemetry = await store.GetTelemetryAsync(telemetryId, aborted);
        var signal = SignalOf(context.Request.Path);
        if (telemetry is null || signal is not { } type || !telemetry.Types.Contains(type))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var grpc = telemetry.Protocol == TelemetryProtocol.Grpc;
        if (telemetry.Provider != TelemetryProvider.OtelCollector)
        {
            if (_warned.TryAdd(telemetryId, true))
            {
                logger.TelemetryDropped(telemetry.Name, telemetry.Provider);
            }

            await AcceptAndDropAsync(context, grpc);
            return;
        }

        if (!Uri.TryCreate(telemetry.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            logger.TelemetryForwardFailed(telemetry.Name, telemetry.Endpoint, "the endpoint is not an http:// or https:// URL");
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, TargetOf(endpoint, context.Request.Path, grpc))
        {
            Version = grpc ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = grpc ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
            Content = new StreamContent(context.Request.Body),
        };
        CopyRequestHeaders(context.Request.Headers, message);
        message.Content.Headers.ContentLength = context.Request.ContentLength; // not chunked when the exporter gave a length
        AddSecret(telemetry.Secret, message);
        try
        {
            using var response = await _invoker.SendAsync(message, aborted);
            context.Response.StatusCode = (int)response.StatusCode;
            CopyResponseHeaders(response.Headers, context.Response.Headers);
            CopyResponseHeaders(response.Content.Headers, context.Response.Headers);
            await using (var body = await response.Content.ReadAsStreamAsync(aborted))
            {
                await body.CopyToAsync(context.Response.Body, aborted);
            }

            foreach (var (name, values) in response.TrailingHeaders.NonValidated)
            {
                if (context.Response.SupportsTrailers())
                {
                    context.Response.AppendTrailer(name, new StringValues([.. values]));
                }
            }
        }
        catch (HttpRequestException e)
        {
            logger.TelemetryForwardFailed(telemetry.Name, telemetry.Endpoint, e.Message);
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
        }
    }

    /// <summary>The signal of an OTLP/HTTP path (<c>/v1/traces</c>) or an OTLP/gRPC method (<c>…TraceService/Export</c>).</summary>
    internal static TelemetryType? SignalOf(PathString path)
    {
        var value = path.Value ?? string.Empty;
        return value.EndsWith("/v1/traces", StringComparison.Ordinal) || value.Contains(".trace.v1.TraceService/", StringComparison.Ordinal) ? TelemetryType.Traces
            : value.EndsWith("/v1/metrics", StringComparison.Ordinal) || value.Contains(".metrics.v1.MetricsService/", StringComparison.Ordinal) ? TelemetryType.Metrics
            : value.EndsWith("/v1/logs", StringComparison.Ordinal) || value.Contains(".logs.v1.LogsService/", StringComparison.Ordinal) ? TelemetryType.Logs
            : null;
    }

    /// <summary>
    /// OTLP/HTTP goes to the endpoint's path plus the signal's (the collector's <c>otlphttp</c> exporter appends
    /// <c>/v1/traces</c>); a gRPC method goes to the endpoint's host.
    /// </summary>
    private static Uri TargetOf(Uri endpoint, PathString path, bool grpc) =>
        grpc ? new Uri(endpoint, path.Value) : new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/v1/" + path.Value![(path.Value!.LastIndexOf('/') + 1)..]);

    private static async Task AcceptAndDropAsync(HttpContext context, bool grpc)
    {
        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        if (grpc)
        {
            // An empty Export…ServiceResponse: one uncompressed, zero-length message, and status OK.
            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(new byte[5], context.RequestAborted);
            context.Response.AppendTrailer("grpc-status", "0");
            return;
        }

        context.Response.ContentType = context.Request.ContentType ?? "application/x-protobuf";
    }

    private static void CopyRequestHeaders(IHeaderDictionary headers, HttpRequestMessage message)
    {
        foreach (var (name, value) in headers)
        {
            if (name.StartsWith(':') || Routing.InvocationForwarder.IsHopByHop(name) && !name.Equals("TE", StringComparison.OrdinalIgnoreCase)
                || name is "Host" or "Authorization" || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value))
            {
                message.Content!.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value);
            }
        }
    }

    /// <summary>A string secret is a bearer token; a JSON object's members are headers (e.g. <c>x-otlp-api-key</c>).</summary>
    private static void AddSecret(Secret secret, HttpRequestMessage message)
    {
        if (!secret.IsObject)
        {
            message.Headers.TryAddWithoutValidation("Authorization", "Bearer " + secret.Value);
            return;
        }

        using var document = JsonDocument.Parse(secret.Value);
        foreach (var header in document.RootElement.EnumerateObject())
        {
            message.Headers.TryAddWithoutValidation(header.Name, header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString() : header.Value.GetRawText());
        }
    }

    private static void CopyResponseHeaders(System.Net.Http.Headers.HttpHeaders source, IHeaderDictionary target)
    {
        foreach (var (name, values) in source.NonValidated)
        {
            if (!Routing.InvocationForwarder.IsHopByHop(name))
            {
                target[name] = new StringValues([.. values]);
            }
        }
    }

    /// <summary>
    /// The configured address; else on the host's network 127.0.0.1; else the default bridge's gateway when it is an
    /// address of this machine (a local engine); else none, and containers get the endpoints as they are.
    /// </summary>
    private static (IPAddress? Address, string Reason) ResolveAddress(EmulatorOptions options, DockerRuntimeOptions docker)
    {
        if (!string.IsNullOrWhiteSpace(options.TelemetryRelayAddress))
        {
            return (IPAddress.Parse(options.TelemetryRelayAddress), "configured");
        }

        if (string.Equals(docker.NetworkMode, "host", StringComparison.OrdinalIgnoreCase))
        {
            return (IPAddress.Loopback, "host network");
        }

        try
        {
            var bridge = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(i => i.Name == "docker0");
            var address = bridge?.GetIPProperties().UnicastAddresses.Select(a => a.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            return address is null ? (null, "this machine has no docker0 bridge") : (address, "docker0");
        }
        catch (NetworkInformationException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>Stops the relay of a telemetry that is gone, if it has one (nothing names a deleted telemetry).</summary>
    public async Task StopAsync(Guid telemetryId)
    {
        if (_listeners.TryRemove(telemetryId, out var listener))
        {
            await StopAsync(listener);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _listeners.Values)
        {
            await StopAsync(listener);
        }

        _invoker.Dispose();
    }

    private static async Task StopAsync(Lazy<Task<Listener>> listener)
    {
        if (!listener.IsValueCreated)
        {
            return;
        }

        try
        {
            await (await listener.Value).App.DisposeAsync();
        }
        catch (IOException)
        {
            // It never started.
        }
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    private sealed record Listener(WebApplication App, Uri Address);
}

/// <summary>Where an instance sends one signal, as its container sees it: a base URL and the OTLP protocol.</summary>
public sealed record TelemetryExport(string Endpoint, TelemetryProtocol Protocol);

/// <summary>Where an instance sends each signal its version names a telemetry for.</summary>
public sealed record InstanceTelemetry(TelemetryExport? Logs, TelemetryExport? Metrics, TelemetryExport? Traces);
