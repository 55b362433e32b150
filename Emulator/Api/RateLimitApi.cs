using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// The rate-limit endpoints (docs/nvcf-contract.md#rate-limits): replace or remove a version's <c>rateLimit</c>; either
/// applies to its invocations at once, without a redeploy.
/// </summary>
public static class RateLimitApi
{
    public static IEndpointRouteBuilder MapRateLimitApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/ratelimit").WithTags("Rate limits");
        api.MapPut("/functions/{functionId}/versions/{versionId}", UpdateRateLimit).WithName("UpdateRateLimit")
            .WithSummary("Replace a version's rate limit (deprecated), applied at once");
        api.MapDelete("/functions/{functionId}/versions/{versionId}", DeleteRateLimit).WithName("DeleteRateLimit")
            .WithSummary("Remove a version's rate limit, at once");
        return app;
    }

    /// <summary>
    /// The cloud's deprecated <c>PUT</c>: its body is an <c>UpdateFunctionRequest</c> (<c>{"rateLimit": {...}}</c>),
    /// applied as <c>PUT /v2/nvcf/functions/{functionId}/versions/{versionId}</c> applies it, but answered 204.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> UpdateRateLimit(
        Guid functionId, Guid versionId, UpdateFunctionRequest request, IFunctionStore store, KeyedLock locks,
        DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        var (updated, problem) = await FunctionsApi.UpdateAsync(functionId, versionId, request, store, locks, orchestrator, options.Value, cancellationToken);
        return updated is null ? problem! : TypedResults.NoContent();
    }

    /// <summary>Removes the version's rate limit (204 also when it had none).</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteRateLimit(
        Guid functionId, Guid versionId, IFunctionStore store, KeyedLock locks, DeploymentOrchestrator orchestrator, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        if (await store.UpdateVersionAsync(functionId, versionId, v => v with { RateLimit = null }, cancellationToken) is null)
        {
            return Problems.NotFound($"Function id '{functionId}', version '{versionId}': Not found");
        }

        orchestrator.UpdateRateLimit(versionId, null);
        return TypedResults.NoContent();
    }
}
