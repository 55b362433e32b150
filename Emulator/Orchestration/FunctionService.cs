using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// The rules of function management (docs/nvcf-contract.md#function-management): create functions and versions,
/// update and delete versions. Each operation validates first (<see cref="FunctionValidation"/>), changes a function
/// only under its lock, and applies all of a change or, with a <see cref="Rejection"/>, nothing.
/// </summary>
public sealed class FunctionService(IFunctionStore store, KeyedLock locks, DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options)
{
    /// <summary>Creates a function, and its first version, in account <paramref name="ncaId"/>.</summary>
    public async Task<Outcome<FunctionVersion>> CreateFunctionAsync(string ncaId, CreateFunctionRequest request, CancellationToken cancellationToken)
    {
        if (FunctionValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var quotas = await locks.AcquireAsync(Quotas.LockKey, cancellationToken);
        if (await Quotas.CheckNewFunctionAsync(store, options.Value, cancellationToken) is { } quota)
        {
            return Rejection.Invalid(quota);
        }

        using var telemetries = await LockTelemetriesAsync(request, cancellationToken);
        if (await TelemetryService.CheckFunctionTelemetriesAsync(store, ncaId, request.Telemetries, cancellationToken) is { } unknown)
        {
            return unknown;
        }

        var version = ToVersion(request, Guid.NewGuid(), ncaId);
        await store.AddVersionAsync(version, cancellationToken);
        return version;
    }

    /// <summary>Adds a version to a function of account <paramref name="ncaId"/> (another account's is not found).</summary>
    public async Task<Outcome<FunctionVersion>> CreateVersionAsync(string ncaId, Guid functionId, CreateFunctionRequest request, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var existing = await store.ListVersionsAsync(functionId, cancellationToken);
        if (existing.Count == 0 || existing[0].NcaId != ncaId)
        {
            return Rejection.FunctionNotFound(functionId, ncaId);
        }

        if (FunctionValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var telemetries = await LockTelemetriesAsync(request, cancellationToken);
        if (await TelemetryService.CheckFunctionTelemetriesAsync(store, ncaId, request.Telemetries, cancellationToken) is { } unknown)
        {
            return unknown;
        }

        // A new version is shared as the function is (the cloud copies the oldest version's function-level parties).
        var version = ToVersion(request, functionId, ncaId) with { FunctionAuthorizedAccounts = existing[0].FunctionAuthorizedAccounts };
        await store.AddVersionAsync(version, cancellationToken);
        return version;
    }

    /// <summary>
    /// Validates and applies an update (docs/nvcf-contract.md#update-request): all of it or, with a rejection, nothing.
    /// A new rate limit applies to invocations at once.
    /// </summary>
    public async Task<Outcome<FunctionVersion>> UpdateVersionAsync(string ncaId, Guid functionId, Guid versionId, UpdateFunctionRequest request, CancellationToken cancellationToken)
    {
        if (FunctionValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var current = await GetOwnAsync(ncaId, functionId, versionId, cancellationToken);
        if (current is null)
        {
            return Rejection.VersionNotFound(functionId, versionId, ncaId);
        }

        if (request.ModelUpdates?.FirstOrDefault(m => current.Models?.Any(x => x.Name == m.ModelName) != true) is { } unknown)
        {
            return Rejection.Invalid($"Invalid request: function version '{versionId}' has no model named '{unknown.ModelName}'");
        }

        var updated = await store.UpdateVersionAsync(functionId, versionId, v => v with
        {
            Tags = request.Tags?.Distinct().ToList() ?? v.Tags,
            RateLimit = request.RateLimit?.ToDomain() ?? v.RateLimit,
            LlmInvocationConfig = request.LlmInvocationConfig ?? v.LlmInvocationConfig,
            Models = request.ModelUpdates is null ? v.Models : [.. v.Models!.Select(m =>
                request.ModelUpdates.FirstOrDefault(u => u.ModelName == m.Name) is { } u ? m with { LlmConfig = u.LlmConfig ?? m.LlmConfig } : m)],
        }, cancellationToken);

        if (updated is null)
        {
            return Rejection.VersionNotFound(functionId, versionId, ncaId);
        }

        if (request.RateLimit is not null)
        {
            orchestrator.UpdateRateLimit(versionId, updated.RateLimit);
        }

        return updated;
    }

    /// <summary>Removes a version's rate limit, for its invocations at once (also when it had none).</summary>
    public async Task<Outcome<FunctionVersion>> RemoveRateLimitAsync(string ncaId, Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        if (await GetOwnAsync(ncaId, functionId, versionId, cancellationToken) is null
            || await store.UpdateVersionAsync(functionId, versionId, v => v with { RateLimit = null }, cancellationToken) is not { } updated)
        {
            return Rejection.NotFound($"Function id '{functionId}', version '{versionId}': Not found");
        }

        orchestrator.UpdateRateLimit(versionId, null);
        return updated;
    }

    /// <summary>
    /// Merges the given secrets into the version's (a new value wins; docs/nvcf-contract.md#secrets-api). Adding the
    /// first secrets is allowed only while the version is INACTIVE; once it has secrets they can be updated in any
    /// status, and its running instances see them at once.
    /// </summary>
    public async Task<Outcome<FunctionVersion>> UpdateSecretsAsync(string ncaId, Guid functionId, Guid versionId, List<SecretDto>? requested, CancellationToken cancellationToken)
    {
        if (FunctionValidation.ValidateSecretsUpdate(functionId, versionId, requested) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await GetOwnAsync(ncaId, functionId, versionId, cancellationToken);
        if (version is null)
        {
            return Rejection.VersionNotFound(functionId, versionId, ncaId);
        }

        if (version.Status != FunctionStatus.Inactive && version.Secrets.Count == 0)
        {
            return Rejection.Invalid($"Function id '{functionId}', version '{versionId}': Add secrets only when the function is 'INACTIVE'");
        }

        var secrets = Secret.Merge(version.Secrets, [.. requested!.Select(s => s.ToDomain())]);
        var updated = await store.UpdateVersionAsync(functionId, versionId, v => v with { Secrets = secrets }, cancellationToken);
        orchestrator.UpdateSecrets(versionId, secrets);
        return updated ?? version with { Secrets = secrets };
    }

    /// <summary>
    /// Deletes a version; a deployed one is undeployed at once, its containers removed
    /// (docs/nvcf-contract.md#function-endpoints).
    /// </summary>
    public async Task<Outcome<FunctionVersion>> DeleteVersionAsync(string ncaId, Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        if (await GetOwnAsync(ncaId, functionId, versionId, cancellationToken) is not { } version)
        {
            return Rejection.VersionNotFound(functionId, versionId, ncaId);
        }

        await orchestrator.UndeployAsync(functionId, versionId, graceful: false);
        await store.RemoveVersionAsync(functionId, versionId, cancellationToken);
        return version;
    }

    /// <summary>A version that names telemetries is added while none of them can be deleted.</summary>
    private async Task<IDisposable?> LockTelemetriesAsync(CreateFunctionRequest request, CancellationToken cancellationToken) =>
        request.Telemetries is null ? null : await locks.AcquireAsync(TelemetryService.LockKey, cancellationToken);

    /// <summary>
    /// The versions account <paramref name="ncaId"/> sees (docs/nvcf-contract.md#function-sharing), oldest first: its
    /// own when <paramref name="visibility"/> includes private, those shared with it when it includes authorized; all
    /// of one function, or of every function.
    /// </summary>
    public async Task<IReadOnlyList<FunctionVersion>> ListVisibleAsync(string ncaId, Visibility visibility, Guid? functionId, CancellationToken cancellationToken) =>
        [.. (await store.ListVersionsAsync(functionId, cancellationToken)).Where(v => v.NcaId == ncaId
            ? visibility.HasFlag(Visibility.Private)
            : visibility.HasFlag(Visibility.Authorized) && v.IsSharedWith(ncaId))];

    /// <summary>A version account <paramref name="ncaId"/> may read: its own or one shared with it; null otherwise.</summary>
    public async Task<FunctionVersion?> GetVisibleAsync(string ncaId, Guid functionId, Guid versionId, CancellationToken cancellationToken) =>
        await store.GetVersionAsync(functionId, versionId, cancellationToken) is { } version && version.IsVisibleTo(ncaId) ? version : null;

    /// <summary>A version of account <paramref name="ncaId"/>; another account's (shared or not) is null, as if missing.</summary>
    private async Task<FunctionVersion?> GetOwnAsync(string ncaId, Guid functionId, Guid versionId, CancellationToken cancellationToken) =>
        await store.GetVersionAsync(functionId, versionId, cancellationToken) is { } version && version.NcaId == ncaId ? version : null;

    private static FunctionVersion ToVersion(CreateFunctionRequest r, Guid functionId, string ncaId) => new()
    {
        Id = functionId,
        VersionId = Guid.NewGuid(),
        NcaId = ncaId,
        Name = r.Name!,
        Description = r.Description ?? r.Name!,
        InferenceUrl = r.InferenceUrl!,
        InferencePort = r.InferencePort,
        ContainerImage = r.ContainerImage,
        ContainerArgs = r.ContainerArgs,
        ContainerEnvironment = [.. (r.ContainerEnvironment ?? []).Select(e => new EnvironmentEntry(e.Key!, e.Value!))],
        Models = r.Models,
        HelmChart = r.HelmChart,
        HelmChartServiceName = r.HelmChartServiceName,
        Resources = r.Resources?.Select(a => new Artifact(a.Name!, a.Version!, a.Uri!)).ToList(),
        ApiBodyFormat = r.ApiBodyFormat ?? ApiBodyFormat.Custom,
        FunctionType = r.FunctionType ?? FunctionType.Default,
        Health = r.Health is { } h
            ? new HealthCheck(h.Protocol!.Value, h.Uri!, h.Port!.Value, h.Timeout!.Value, h.ExpectedStatusCode!.Value)
            : HealthCheck.Default(r.InferenceUrl!, r.InferencePort, r.HealthUri),
        Tags = r.Tags?.Distinct().ToList() ?? [],
        Secrets = [.. (r.Secrets ?? []).Select(s => s.ToDomain())],
        RateLimit = r.RateLimit?.ToDomain(),
        Telemetries = r.Telemetries,
        LlmInvocationConfig = r.LlmInvocationConfig,
        Status = FunctionStatus.Inactive,
        CreatedAt = DateTime.UtcNow,
    };
}
