using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// Runs a version's health check (docs/nvcf-contract.md#ports-health-and-startup) against one instance: HTTP status or
/// <c>grpc.health.v1</c>.
/// </summary>
public sealed class HealthProber : IDisposable
{
    private readonly SocketsHttpHandler _handler = new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
    };

    private readonly HttpClient _http;

    /// <summary>For gRPC probes: given to each channel as a client, so channels never reconfigure a handler in use.</summary>
    private readonly HttpClient _grpcHttp = new(new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public HealthProber() => _http = new HttpClient(_handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    public async Task<ProbeResult> ProbeAsync(RuntimeInstance instance, HealthCheck check, CancellationToken cancellationToken)
    {
        if (!instance.Endpoints.TryGetValue(check.Port, out var baseAddress))
        {
            return new ProbeResult(false, false, $"port {check.Port} is not published");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(check.Timeout);
        try
        {
            return check.Protocol == HealthProtocol.Grpc
                ? await ProbeGrpcAsync(baseAddress, timeout.Token)
                : await ProbeHttpAsync(new Uri(baseAddress, check.Uri), check.ExpectedStatusCode, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(false, true, $"no answer within {check.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return new ProbeResult(false, false, e.InnerException?.Message ?? e.Message);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            return new ProbeResult(false, false, e.Status.Detail);
        }
        catch (RpcException e)
        {
            return new ProbeResult(false, true, $"grpc.health.v1 answered {e.StatusCode}: {e.Status.Detail}");
        }
        catch (SocketException e)
        {
            return new ProbeResult(false, false, e.Message);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _grpcHttp.Dispose();
        _handler.Dispose();
    }

    private async Task<ProbeResult> ProbeHttpAsync(Uri uri, int expectedStatusCode, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        return status == expectedStatusCode
            ? ProbeResult.Healthy
            : new ProbeResult(false, true, $"GET {uri.PathAndQuery} answered {status}, expected {expectedStatusCode}");
    }

    private async Task<ProbeResult> ProbeGrpcAsync(Uri baseAddress, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(baseAddress, new GrpcChannelOptions { HttpClient = _grpcHttp, DisposeHttpClient = false });
        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: cancellationToken);
        return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving
            ? ProbeResult.Healthy
            : new ProbeResult(false, true, $"grpc.health.v1 status {reply.Status}");
    }
}

/// <summary>The outcome of one probe.</summary>
/// <param name="IsHealthy">The check passed.</param>
/// <param name="Reachable">Something answered on the port (false: connection refused or reset).</param>
/// <param name="Detail">What happened, for logs and <c>healthInfo</c>.</param>
public sealed record ProbeResult(bool IsHealthy, bool Reachable, string Detail)
{
    public static readonly ProbeResult Healthy = new(true, true, "healthy");
}
