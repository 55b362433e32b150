using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Invocation (§4.1–4.3): <c>POST /v2/nvcf/pexec/functions/{functionId}[/versions/{versionId}]</c>. The path reads
/// straight through: validate → choose a version (<see cref="FunctionRouter"/>) → take an instance slot
/// (<see cref="InstancePool"/>) → forward and relay (<see cref="InvocationForwarder"/>).
/// Every answer carries <c>NVCF-REQID</c> and <c>NVCF-STATUS</c>.
/// </summary>
public static class InvocationApi
{
    public static IEndpointRouteBuilder MapInvocationApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/pexec").WithTags("Invocation");
        api.MapPost("/functions/{functionId}", (Guid functionId, HttpContext context, FunctionRouter router, InvocationForwarder forwarder, IOptions<EmulatorOptions> options, ILogger<InvocationForwarder> logger) =>
            Invoke(context, functionId, null, router, forwarder, options.Value, logger));
        api.MapPost("/functions/{functionId}/versions/{versionId}", (Guid functionId, Guid versionId, HttpContext context, FunctionRouter router, InvocationForwarder forwarder, IOptions<EmulatorOptions> options, ILogger<InvocationForwarder> logger) =>
            Invoke(context, functionId, versionId, router, forwarder, options.Value, logger));
        return app;
    }

    public static async Task<IResult> Invoke(
        HttpContext context, Guid functionId, Guid? versionId, FunctionRouter router, InvocationForwarder forwarder, EmulatorOptions options, ILogger logger)
    {
        var requestId = Guid.NewGuid();
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();

        if (PollWindow.Parse(context.Request, out var pollError) is not { } pollSeconds)
        {
            return Errored(StatusCodes.Status400BadRequest, pollError!);
        }

        var selection = router.Select(functionId, versionId);
        if (selection.Route is not { } route)
        {
            return selection.Failure == RouteFailure.Degraded
                ? Errored(StatusCodes.Status400BadRequest, $"Function id '{functionId}': DEGRADED function cannot be invoked")
                : Errored(StatusCodes.Status404NotFound, $"Function id '{functionId}' version '{versionId?.ToString() ?? "any"}': Specified function in account '{options.NcaId}' is not found");
        }

        var deadline = DateTime.UtcNow.AddSeconds(pollSeconds);
        InstanceLease lease;
        try
        {
            lease = route.Pool.TryAcquire(out var free) ? free : await WaitForSlotAsync(route.Pool, deadline + PollWindow.PickUpGrace, context.RequestAborted);
        }
        catch (InstancePoolClosedException e)
        {
            return Errored(StatusCodes.Status404NotFound, e.Message);
        }
        catch (TimeoutException)
        {
            return Errored(StatusCodes.Status504GatewayTimeout, $"No instance of function id '{functionId}' picked up the request within {pollSeconds} s. Increase NVCF-POLL-SECONDS or maxInstances/maxRequestConcurrency.");
        }

        using (lease)
        {
            var invocation = new Invocation(requestId, route.Version, route.Version.InferencePath, "local-user", deadline);
            HttpResponseMessage response;
            try
            {
                response = await forwarder.SendAsync(context, invocation, lease.Target, context.RequestAborted);
            }
            catch (HttpRequestException e)
            {
                logger.InstanceUnreachable(requestId, lease.Target.InstanceId, e.Message);
                return Errored(
                    StatusCodes.Status500InternalServerError,
                    "Inference connection error while making inference request",
                    "urn:inference-connection:problem-details:internal-server-error");
            }

            using (response)
            {
                await InvocationForwarder.RelayResponseAsync(context, response, requestId, context.RequestAborted);
            }
        }

        return Results.Empty;

        ProblemHttpResult Errored(int status, string detail, string? type = null)
        {
            context.Response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusErrored;
            return Problems.Create(status, detail, type);
        }
    }

    private static async Task<InstanceLease> WaitForSlotAsync(InstancePool pool, DateTime deadline, CancellationToken aborted)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        window.CancelAfter(deadline - DateTime.UtcNow);
        try
        {
            return await pool.AcquireAsync(window.Token);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            throw new TimeoutException();
        }
    }
}
