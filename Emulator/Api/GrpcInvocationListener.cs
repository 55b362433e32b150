using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Api;

/// <summary>
/// gRPC invocation (docs/nvcf-contract.md#grpc-invocation): an HTTP/2 listener of its own
/// (<see cref="EmulatorOptions.GrpcUrl"/>). A call carrying <c>function-id</c> (and optionally
/// <c>function-version-id</c>) metadata and a bearer token goes, unchanged, to an instance of the function's gRPC port;
/// its messages and trailers come back unchanged, with <c>nvcf-reqid</c>. Over the version's rate limit a call fails
/// with <c>RESOURCE_EXHAUSTED</c> (docs/nvcf-contract.md#rate-limits).
/// </summary>
public sealed class GrpcInvocationListener(IServiceProvider services, IOptions<EmulatorOptions> options, ILogger<GrpcInvocationListener> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _listener;

    /// <summary>Where the listener accepts calls, once started.</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Value.GrpcUrl))
        {
            return;
        }

        var url = new Uri(options.Value.GrpcUrl);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = url.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(url.Host);
            kestrel.Listen(address, url.Port, listen => listen.Protocols = HttpProtocols.Http2);
        });
        _listener = builder.Build();
        _listener.Run(HandleAsync);
        try
        {
            await _listener.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            // The HTTP API matters more than gRPC: say why gRPC is off and carry on.
            logger.GrpcUnavailable(options.Value.GrpcUrl, e.Message);
            await _listener.DisposeAsync();
            _listener = null;
            return;
        }

        Address = new Uri(_listener.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        logger.GrpcListening(Address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is not null)
        {
            await _listener.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        context.RequestServices = services;
        var requestId = Guid.NewGuid();
        context.Response.Headers["nvcf-reqid"] = requestId.ToString();

        if (ApiMiddleware.CheckBearer(context) is { } unauthorized)
        {
            await FailAsync(context, GrpcStatus.Unauthenticated, unauthorized);
            return;
        }

        if (ApiMiddleware.CheckScope(context, InvocationApi.InvokeScopes) is { } forbidden)
        {
            await FailAsync(context, GrpcStatus.PermissionDenied, forbidden.ProblemDetails.Detail!);
            return;
        }

        if (!Guid.TryParse(context.Request.Headers["function-id"].ToString(), out var functionId))
        {
            await FailAsync(context, GrpcStatus.InvalidArgument, "The function-id metadata (a UUID) is required.");
            return;
        }

        Guid? versionId = null;
        if (context.Request.Headers["function-version-id"] is { Count: > 0 } version)
        {
            if (!Guid.TryParse(version.ToString(), out var parsed))
            {
                await FailAsync(context, GrpcStatus.InvalidArgument, "The function-version-id metadata must be a UUID.");
                return;
            }

            versionId = parsed;
        }

        var invocations = services.GetRequiredService<InvocationService>();
        var request = new InvocationRequest(requestId, functionId, versionId, Caller.Of(context).NcaId, PollWindow.MaxSeconds, Compatible: false, context.Request.Path.ToUriComponent(), Grpc: true);
        var outcome = await invocations.InvokeAsync(context, request);
        if (outcome is Rejected rejected)
        {
            if (rejected.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await FailAsync(context, rejected.StatusCode switch
            {
                StatusCodes.Status404NotFound => GrpcStatus.NotFound,
                StatusCodes.Status400BadRequest => GrpcStatus.FailedPrecondition,
                StatusCodes.Status429TooManyRequests => GrpcStatus.ResourceExhausted, // as the gRPC proxy refuses over the limit
                StatusCodes.Status504GatewayTimeout => GrpcStatus.Unavailable,
                _ => GrpcStatus.Internal,
            }, rejected.Detail);
            return;
        }

        await services.GetRequiredService<InvocationAnswers>().WriteAsync(context, request, outcome);
    }

    /// <summary>A trailers-only gRPC answer carrying the status.</summary>
    private static Task FailAsync(HttpContext context, GrpcStatus status, string message)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }

    private enum GrpcStatus
    {
        InvalidArgument = 3,
        NotFound = 5,
        PermissionDenied = 7,
        ResourceExhausted = 8,
        FailedPrecondition = 9,
        Internal = 13,
        Unavailable = 14,
        Unauthenticated = 16,
    }
}
