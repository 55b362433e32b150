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
    private string NcaId => options.Value.NcaId;

    public async Task<Outcome<FunctionVersion>> CreateFunctionAsync(CreateFunctionRequest request, CancellationToken cancellationToken)
    {
        if (FunctionValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        if (await Quotas.CheckNewFunctionAsync(store, options.Value, cancellationToken) is { } quota)
        {
            return Rejection.Invalid(quota);
        }

        using var telemetries = await LockTelemetriesAsync(request, cancellationToken);
        if (await TelemetryService.CheckFunctionTelemetriesAsync(store, NcaId, request.Telemetries, cancellationToken) is { } unknown)
        {
            return unknown;
        }

        var version = ToVersion(request, Guid.NewGuid(), NcaId);
        await store.AddVersionAsync(version, cancellationToken);
        return version;
    }

    public async Task<Outcome<FunctionVersion>> CreateVersionAsync(Guid functionId, CreateFunctionRequest request, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var existing = await store.ListVersionsAsync(functionId, cancellationToken);
        if (existing.Count == 0)
        {
            return Rejection.FunctionNotFound(functionId, NcaId);
        }

        if (FunctionValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var telemetries = await LockTelemetriesAsync(request, cancellationToken);
        if (await TelemetryService.CheckFunctionTelemetriesAsync(store, NcaId, request.Telemetries, cancellationToken) is { } unknown)
        {
            return unknown;
        }

        var version = ToVersion(request, functionId, NcaId);
        await store.AddVersionAsync(version, cancellationToken);
        return version;
    }

    /// <summary>
    /// Validates and applies an update (docs/nvcf-contract.md#update-request): all of it or, with a rejection, nothing.
    /// A new rate limit applies to invocations at once.
    /// </summary>
    public async Task<Outcome<FunctionVersion>> UpdateVersionAsync(Guid functionId, Guid versionId, UpdateFunctionRequest request, CancellationToken cancellationToken)
    {
        if (FunctionValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var current = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        if (current is null)
        {
            return Rejection.VersionNotFound(functionId, versionId, NcaId);
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
            return Rejection.VersionNotFound(functionId, versionId, NcaId);
        }

        if (request.RateLimit is not null)
        {
            orchestrator.UpdateRateLimit(versionId, updated.RateLimit);
        }

        return updated;
    }

    /// <summary>Removes a version's rate limit, for its invocations at once (also when it had none).</summary>
    public async Task<Outcome<FunctionVersion>> RemoveRateLimitAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        if (await store.UpdateVersionAsync(functionId, versionId, v => v with { RateLimit = null }, cancellationToken) is not { } updated)
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
    public async Task<Outcome<FunctionVersion>> UpdateSecretsAsync(Guid functionId, Guid versionId, List<SecretDto>? requested, CancellationToken cancellationToken)
    {
        if (FunctionValidation.ValidateSecretsUpdate(functionId, versionId, requested) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        if (version is null)
        {
            return Rejection.VersionNotFound(functionId, versionId, NcaId);
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
    public async Task<Outcome<FunctionVersion>> DeleteVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        if (await store.GetVersionAsync(functionId, versionId, cancellationToken) is not { } version)
        {
            return Rejection.VersionNotFound(functionId, versionId, NcaId);
        }

        await orchestrator.UndeployAsync(functionId, versionId, graceful: false);
        await store.RemoveVersionAsync(functionId, versionId, cancellationToken);
        return version;
    }

    /// <summary>A version that names telemetries is added while none of them can be deleted.</summary>
    private async Task<IDisposable?> LockTelemetriesAsync(CreateFunctionRequest request, CancellationToken cancellationToken) =>
        request.Telemetries is null ? null : await locks.AcquireAsync(TelemetryService.LockKey, cancellationToken);

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
