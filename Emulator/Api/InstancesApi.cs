using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Orchestration;

namespace Nvcf.Emulator.Api;

/// <summary>
/// One instance at a time: delete it (the cloud's <c>DELETE /v2/nvcf/instances/{instanceId}</c>, answered 200 with
/// no body, <c>XAccountMiscEndpointsController.deleteInstance</c> in NVIDIA/nvcf) and read its container's logs (an
/// emulator route: the cloud has none). A deleted instance is replaced as after a crash, so <c>minInstances</c> holds.
/// </summary>
public static class InstancesApi
{
    /// <summary>Lines of logs when <c>tail</c> is not given.</summary>
    public const int DefaultTail = 100;

    /// <summary>The most lines one call returns.</summary>
    public const int MaxTail = 10_000;

    public static IEndpointRouteBuilder MapInstancesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/instances").WithTags("Instances").RequireScope(Scopes.DeployFunction);
        api.MapDelete("/{instanceId}", DeleteInstance)
            .WithName("DeleteInstance")
            .WithSummary("Stops and removes one instance's container; its version replaces it as after a crash");
        api.MapGet("/{instanceId}/logs", GetInstanceLogs)
            .WithName("GetInstanceLogs")
            .WithSummary("The last lines of an instance's container output (?tail=N, 100 by default), as text");
        return app;
    }

    /// <summary>
    /// Stops and removes the instance's container; the version's next instance replaces it, with another ID, and the
    /// version is DEGRADING until that one is ready. Requests on the deleted instance fail; waiting ones go to others.
    /// </summary>
    public static async Task<Results<Ok, ProblemHttpResult>> DeleteInstance(
        string instanceId, DeploymentOrchestrator orchestrator, CancellationToken cancellationToken) =>
        Guid.TryParse(instanceId, out var id) && await orchestrator.DeleteInstanceAsync(id, cancellationToken)
            ? TypedResults.Ok()
            : InstanceNotFound(instanceId);

    /// <summary>The last <c>tail</c> lines (default 100) the instance's container wrote, stdout then stderr, as text.</summary>
    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetInstanceLogs(
        string instanceId, DeploymentOrchestrator orchestrator, CancellationToken cancellationToken, int? tail = null)
    {
        if (tail is < 1 or > MaxTail)
        {
            return Problems.BadRequest($"Invalid request: 'tail' must be between 1 and {MaxTail}");
        }

        var logs = Guid.TryParse(instanceId, out var id)
            ? await orchestrator.ReadInstanceLogsAsync(id, tail ?? DefaultTail, cancellationToken)
            : null;
        return logs is null ? InstanceNotFound(instanceId) : TypedResults.Text(logs, "text/plain; charset=utf-8");
    }

    private static ProblemHttpResult InstanceNotFound(string instanceId) => Problems.NotFound($"Instance '{instanceId}' not found");
}
