using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Orchestration;
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
        var api = app.MapGroup("/v2/nvcf/queues").WithTags("Queues").RequireScope(Scopes.QueueDetails);
        api.MapGet("/functions/{functionId}", (Guid functionId, IFunctionStore store, FunctionRouter router, Caller caller, CancellationToken ct) =>
            Queues(functionId, null, store, router, caller, ct))
            .WithName("GetFunctionQueues").WithSummary("Queue length of every deployed version of a function");
        api.MapGet("/functions/{functionId}/versions/{versionId}", (Guid functionId, Guid versionId, IFunctionStore store, FunctionRouter router, Caller caller, CancellationToken ct) =>
            Queues(functionId, versionId, store, router, caller, ct))
            .WithName("GetFunctionVersionQueue").WithSummary("Queue length of one deployed version");
        api.MapGet("/{requestId}/position", Position).WithName("GetQueuePosition").WithSummary("Position of a pending request in its queue");
        return app;
    }

    /// <summary>
    /// The queues of the caller's own function, or of one shared with it (the cloud lets shared accounts check queue
    /// details; docs/nvcf-contract.md#function-sharing).
    /// </summary>
    public static async Task<Results<Ok<QueuesResponse>, ProblemHttpResult>> Queues(
        Guid functionId, Guid? versionId, IFunctionStore store, FunctionRouter router, Caller caller, CancellationToken cancellationToken)
    {
        var versions = (await store.ListVersionsAsync(functionId, cancellationToken)).Where(v => v.IsVisibleTo(caller.NcaId)).ToList();
        if (versions.Count == 0 || (versionId is not null && versions.All(v => v.VersionId != versionId)))
        {
            return Problems.From(versionId is null
                ? Rejection.FunctionNotFound(functionId, caller.NcaId)
                : Rejection.VersionNotFound(functionId, versionId.Value, caller.NcaId));
        }

        var queues = router.RoutesOf(functionId)
            .Where(r => versions.Any(v => v.VersionId == r.Version.VersionId))
            .Where(r => versionId is null || r.Version.VersionId == versionId)
            .Select(r => new VersionQueue(r.Version.VersionId, r.Version.Name, r.Status, r.Pool.QueueDepth))
            .ToList();
        return TypedResults.Ok(new QueuesResponse(functionId, queues));
    }

    /// <summary>
    /// Where a request waits: in a version's queue, or first in line once an instance took it. Another account's
    /// request is not found (a waiting one: unless the caller may invoke its function too).
    /// </summary>
    public static Results<Ok<QueuePosition>, ProblemHttpResult> Position(Guid requestId, FunctionRouter router, PendingInvocations pending, Caller caller)
    {
        if (router.FindQueued(requestId) is var (route, position) && route.Version.IsVisibleTo(caller.NcaId))
        {
            return TypedResults.Ok(new QueuePosition(route.Version.Id, route.Version.VersionId, position));
        }

        // Taken by an instance already (running, its result awaited through status): first in line.
        return pending.Peek(requestId, caller.NcaId) is { } running
            ? TypedResults.Ok(new QueuePosition(running.FunctionId, running.VersionId, 0))
            : Problems.NotFound($"Request id '{requestId}' not found in any queue");
    }
}
