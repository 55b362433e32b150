using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Orchestration;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Secrets (docs/nvcf-contract.md#secrets-api, docs/nvcf-contract.md#secrets-in-the-container): a version's secrets are
/// updated by name, and its running instances read them at once from <c>/var/secrets/secrets.json</c>.
/// </summary>
public static class SecretsApi
{
    public static IEndpointRouteBuilder MapSecretsApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/v2/nvcf/secrets/functions/{functionId}/versions/{versionId}", UpdateSecrets).WithTags("Secrets").RequireScope(Scopes.UpdateSecrets)
            .WithName("UpdateSecrets").WithSummary("Update a version's secrets by name; running instances see them at once");
        return app;
    }

    /// <summary>What the secrets handler takes.</summary>
    public sealed record Services(FunctionService Functions, Caller Caller, CancellationToken Aborted);

    /// <summary>
    /// Merges the given secrets into the version's (a new value wins). Adding the first secrets is allowed only while
    /// the version is INACTIVE; once it has secrets they can be updated in any status.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> UpdateSecrets(
        Guid functionId, Guid versionId, UpdateSecretsRequest request, [AsParameters] Services s) =>
        await s.Functions.UpdateSecretsAsync(s.Caller.NcaId, functionId, versionId, request.Secrets, s.Aborted) is { Rejection: { } rejection }
            ? Problems.From(rejection)
            : TypedResults.NoContent();
}
