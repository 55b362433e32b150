using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Routing;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Queues (docs/nvcf-contract.md#queues): how many requests wait for an instance slot, per deployed version, and where
/// one request is.
/// </summary>
public static class QueuesApi
{
    public static IEndpointRouteBuilder MapQueuesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/queues").WithTags("Queues");
        api.MapGet("/functions/{functionId}", (Guid functionId, IFunctionStore store, FunctionRouter router, IOptions<EmulatorOptions> options, CancellationToken ct) =>
            Queues(functionId, null, store, router, options.Value, ct))
            .WithName("GetFunctionQueues").WithSummary("Queue length of every deployed version of a function");
        api.MapGet("/functions/{functionId}/versions/{versionId}", (Guid functionId, Guid versionId, IFunctionStore store, FunctionRouter router, IOptions<EmulatorOptions> options, CancellationToken ct) =>
            Queues(functionId, versionId, store, router, options.Value, ct))
            .WithName("GetFunctionVersionQueue").WithSummary("Queue length of one deployed version");
        api.MapGet("/{requestId}/position", Position).WithName("GetQueuePosition").WithSummary("Position of a pending request in its queue");
        return app;
    }

    public static async Task<Results<Ok<QueuesResponse>, ProblemHttpResult>> Queues(
        Guid functionId, Guid? versionId, IFunctionStore store, FunctionRouter router, EmulatorOptions options, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(functionId, cancellationToken);
        if (versions.Count == 0 || (versionId is not null && versions.All(v => v.VersionId != versionId)))
        {
            return versionId is null
                ? Problems.NotFound($"Function id '{functionId}': Not found in account '{options.NcaId}'")
                : FunctionsApi.VersionNotFound(functionId, versionId.Value, options);
        }

        var queues = router.RoutesOf(functionId)
            .Where(r => versionId is null || r.Version.VersionId == versionId)
            .Select(r => new VersionQueue(r.Version.VersionId, r.Version.Name, r.Status, r.Pool.QueueDepth))
            .ToList();
        return TypedResults.Ok(new QueuesResponse(functionId, queues));
    }

    public static Results<Ok<QueuePosition>, ProblemHttpResult> Position(Guid requestId, FunctionRouter router, PendingInvocations pending)
    {
        if (router.FindQueued(requestId) is var (route, position))
        {
            return TypedResults.Ok(new QueuePosition(route.Version.Id, route.Version.VersionId, position));
        }

        // Taken by an instance already (running, its result awaited through status): first in line.
        return pending.Peek(requestId) is { } running
            ? TypedResults.Ok(new QueuePosition(running.FunctionId, running.VersionId, 0))
            : Problems.NotFound($"Request id '{requestId}' not found in any queue");
    }
}
