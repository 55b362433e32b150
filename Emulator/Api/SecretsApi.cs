using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Secrets (docs/nvcf-contract.md#secrets-api, docs/nvcf-contract.md#secrets-in-the-container): a version's secrets are
/// updated by name, and its running instances read them at once from <c>/var/secrets/secrets.json</c>.
/// </summary>
public static class SecretsApi
{
    public static IEndpointRouteBuilder MapSecretsApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/v2/nvcf/secrets/functions/{functionId}/versions/{versionId}", UpdateSecrets).WithTags("Secrets")
            .WithName("UpdateSecrets").WithSummary("Update a version's secrets by name; running instances see them at once");
        return app;
    }

    /// <summary>
    /// Merges the given secrets into the version's (a new value wins). Adding the first secrets is allowed only while
    /// the version is INACTIVE; once it has secrets they can be updated in any status.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> UpdateSecrets(
        Guid functionId, Guid versionId, UpdateSecretsRequest request, IFunctionStore store, KeyedLock locks,
        DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        if (FunctionValidation.ValidateSecretsUpdate(functionId, versionId, request.Secrets) is { } error)
        {
            return Problems.BadRequest(error);
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        if (version is null)
        {
            return FunctionsApi.VersionNotFound(functionId, versionId, options.Value);
        }

        if (version.Status != FunctionStatus.Inactive && version.Secrets.Count == 0)
        {
            return Problems.BadRequest($"Function id '{functionId}', version '{versionId}': Add secrets only when the function is 'INACTIVE'");
        }

        var secrets = Secret.Merge(version.Secrets, [.. request.Secrets!.Select(s => s.ToDomain())]);
        await store.UpdateVersionAsync(functionId, versionId, v => v with { Secrets = secrets }, cancellationToken);
        orchestrator.UpdateSecrets(versionId, secrets);
        return TypedResults.NoContent();
    }
}
