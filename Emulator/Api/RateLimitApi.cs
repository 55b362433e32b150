using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Orchestration;

namespace Nvcf.Emulator.Api;

/// <summary>
/// The rate-limit endpoints (docs/nvcf-contract.md#rate-limits): replace or remove a version's <c>rateLimit</c>; either
/// applies to its invocations at once, without a redeploy.
/// </summary>
public static class RateLimitApi
{
    public static IEndpointRouteBuilder MapRateLimitApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/ratelimit").WithTags("Rate limits").RequireScope(Scopes.UpdateFunction);
        api.MapPut("/functions/{functionId}/versions/{versionId}", UpdateRateLimit).WithName("UpdateRateLimit")
            .WithSummary("Replace a version's rate limit (deprecated), applied at once");
        api.MapDelete("/functions/{functionId}/versions/{versionId}", DeleteRateLimit).WithName("DeleteRateLimit")
            .WithSummary("Remove a version's rate limit, at once");
        return app;
    }

    /// <summary>What the rate-limit handlers take.</summary>
    public sealed record Services(FunctionService Functions, Caller Caller, CancellationToken Aborted);

    /// <summary>
    /// The cloud's deprecated <c>PUT</c>: its body is an <c>UpdateFunctionRequest</c> (<c>{"rateLimit": {...}}</c>),
    /// applied as <c>PUT /v2/nvcf/functions/{functionId}/versions/{versionId}</c> applies it, but answered 204.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> UpdateRateLimit(
        Guid functionId, Guid versionId, UpdateFunctionRequest request, [AsParameters] Services s) =>
        await s.Functions.UpdateVersionAsync(s.Caller.NcaId, functionId, versionId, request, s.Aborted) is { Rejection: { } rejection }
            ? Problems.From(rejection)
            : TypedResults.NoContent();

    /// <summary>Removes the version's rate limit (204 also when it had none).</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteRateLimit(Guid functionId, Guid versionId, [AsParameters] Services s) =>
        await s.Functions.RemoveRateLimitAsync(s.Caller.NcaId, functionId, versionId, s.Aborted) is { Rejection: { } rejection }
            ? Problems.From(rejection)
            : TypedResults.NoContent();
}
