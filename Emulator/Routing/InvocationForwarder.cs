using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Primitives;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// Sends an invocation to an instance as the NVCF worker does
/// (docs/nvcf-contract.md#request-headers): the client's method, headers and body go through unbuffered, except
/// Authorization, hop-by-hop headers and the platform's own <c>NVCF-*</c> headers, which the emulator sets. One
/// long-lived connection pool, no retries and no overall timeout: inference can be slow and a POST is not safe to
/// repeat.
/// </summary>
public sealed class InvocationForwarder : IDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade",
    };

    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";

    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        ActivityHeadersPropagator = DistributedContextPropagator.CreateDefaultPropagator(),
    });

    /// <summary>Sends the request and returns once the response headers have arrived.</summary>
    /// <exception cref="HttpRequestException">The instance could not be reached.</exception>
    public Task<HttpResponseMessage> SendAsync(HttpContext context, Invocation invocation, InstanceTarget target, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var message = new HttpRequestMessage(new HttpMethod(request.Method), invocation.Address)
        {
            // gRPC needs HTTP/2 end to end (cleartext, prior knowledge); everything else goes as HTTP/1.1.
            Version = invocation.Grpc ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = invocation.Grpc ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
            Content = invocation.Content,
        };

        CopyRequestHeaders(request.Headers, message, skipContentHeaders: !invocation.CallersBody);
        AddPlatformHeaders(message, invocation, target);
        AddTraceContext(request.Headers, message.Headers);
        if (invocation.Grpc)
        {
            message.Headers.TryAddWithoutValidation("TE", "trailers");
        }

        return _invoker.SendAsync(message, cancellationToken);
    }

    public void Dispose() => _invoker.Dispose();

    /// <summary>Hop-by-hop headers (RFC 9110 §7.6.1) are never relayed.</summary>
    public static bool IsHopByHop(string name) => HopByHop.Contains(name);

    private static void CopyRequestHeaders(IHeaderDictionary headers, HttpRequestMessage message, bool skipContentHeaders)
    {
        var connectionTokens = headers.Connection;
        foreach (var (name, value) in headers)
        {
            if (HopByHop.Contains(name)
                || name.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
                || NvcfHeaders.PlatformOwned.Contains(name)
                || name.Equals(TraceParent, StringComparison.OrdinalIgnoreCase)
                || name.Equals(TraceState, StringComparison.OrdinalIgnoreCase)
                || NamedIn(connectionTokens, name)
                || (skipContentHeaders && name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value);
            }
        }
    }

    /// <summary>
    /// W3C trace context (docs/nvcf-contract.md#trace-context): while the emulator traces the request, the handler
    /// injects its HTTP call's span (in the caller's trace when it sent a <c>traceparent</c>, which ASP.NET Core
    /// continued), so the caller's headers are not copied as well; without a span they go through as they are.
    /// </summary>
    private static void AddTraceContext(IHeaderDictionary incoming, System.Net.Http.Headers.HttpRequestHeaders outgoing)
    {
        if (Activity.Current is not null || !incoming.TryGetValue(TraceParent, out var traceParent))
        {
            return;
        }

        outgoing.TryAddWithoutValidation(TraceParent, (IEnumerable<string?>)traceParent);
        if (incoming.TryGetValue(TraceState, out var traceState))
        {
            outgoing.TryAddWithoutValidation(TraceState, (IEnumerable<string?>)traceState);
        }
    }

    private static void AddPlatformHeaders(HttpRequestMessage message, Invocation invocation, InstanceTarget target)
    {
        var version = invocation.Version;
        var requestId = invocation.RequestId.ToString();
        var headers = message.Headers;
        headers.TryAddWithoutValidation(NvcfHeaders.RequestId, requestId);
        headers.TryAddWithoutValidation(NvcfHeaders.Sub, invocation.Subject);
        headers.TryAddWithoutValidation(NvcfHeaders.NcaId, invocation.NcaId);
        headers.TryAddWithoutValidation(NvcfHeaders.FunctionName, version.Name);
        headers.TryAddWithoutValidation(NvcfHeaders.FunctionId, version.Id.ToString());
        headers.TryAddWithoutValidation(NvcfHeaders.FunctionVersionId, version.VersionId.ToString());
        headers.TryAddWithoutValidation(NvcfHeaders.AssetDir, "/var/inf/inputAssets/" + requestId);
        headers.TryAddWithoutValidation(NvcfHeaders.LargeOutputDir, "/var/inf/response/" + requestId);
        headers.TryAddWithoutValidation(NvcfHeaders.MaxResponseSizeBytes, NvcfHeaders.MaxDirectResponseSizeBytes.ToString(CultureInfo.InvariantCulture));
        headers.TryAddWithoutValidation(NvcfHeaders.Backend, target.Backend);
        headers.TryAddWithoutValidation(NvcfHeaders.InstanceType, target.InstanceType);
        headers.TryAddWithoutValidation(NvcfHeaders.Region, InstanceEnvironment.Region);
        headers.TryAddWithoutValidation(NvcfHeaders.Env, InstanceEnvironment.Env);
        headers.TryAddWithoutValidation(NvcfHeaders.InvocationRegion, InstanceEnvironment.Region);
        headers.TryAddWithoutValidation(NvcfHeaders.PollSeconds, invocation.RemainingPollSeconds().ToString(CultureInfo.InvariantCulture));

        if (invocation.AssetIds is { Count: > 0 } assetIds)
        {
            headers.TryAddWithoutValidation(NvcfHeaders.FunctionAssetIds, string.Join(',', assetIds));
        }

        if (message.Content is { } content && content.Headers.ContentType is null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }
    }

    private static bool NamedIn(StringValues connection, string header)
    {
        foreach (var value in connection)
        {
            foreach (var token in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (token.Equals(header, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>One invocation on its way to a container.</summary>
/// <param name="RequestId">The <c>NVCF-REQID</c>.</param>
/// <param name="Version">The version chosen to serve it.</param>
/// <param name="Address">Where on the instance it goes (<see cref="InstanceTarget.AddressOf"/>): the inference URL for pexec.</param>
/// <param name="Subject">The caller, sent as <c>NVCF-SUB</c>.</param>
/// <param name="NcaId">The caller's account, sent as <c>NVCF-NCAID</c> (the owner's, or another account the function is shared with).</param>
/// <param name="Deadline">When the caller's poll window ends.</param>
/// <param name="Content">The body to send: the caller's, or one that replaces it; null for none.</param>
/// <param name="CallersBody">Whether <paramref name="Content"/> is the caller's own body (its <c>Content-*</c> headers go with it).</param>
/// <param name="AssetIds">Input assets placed in the request's asset folder.</param>
/// <param name="Grpc">A gRPC call: relayed over HTTP/2 with its trailers.</param>
public sealed record Invocation(
    Guid RequestId, FunctionVersion Version, Uri Address, string Subject, string NcaId, DateTime Deadline, HttpContent? Content, bool CallersBody,
    IReadOnlyList<Guid>? AssetIds = null, bool Grpc = false)
{
    /// <summary>Whole seconds left before the platform would answer 202 (at least 1).</summary>
    public int RemainingPollSeconds() => Math.Max(1, (int)Math.Ceiling((Deadline - DateTime.UtcNow).TotalSeconds));
}
