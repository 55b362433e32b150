using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Orchestration;

/// <summary>A deployment with the version it deploys, as the deployment endpoints answer it.</summary>
public sealed record DeployedVersion(FunctionVersion Version, Deployment Deployment);

/// <summary>
/// The rules of deployments (docs/nvcf-contract.md#deployments): which status may deploy, the specifications' checks
/// (<see cref="FunctionValidation"/>) and quotas, then save and start through the <see cref="DeploymentOrchestrator"/>.
/// A change to a function's deployment happens under the function's lock; a <see cref="Rejection"/> changes nothing.
/// </summary>
public sealed class DeploymentService(IFunctionStore store, KeyedLock locks, DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options)
{
    /// <summary>Deploys a version of account <paramref name="ncaId"/> (another account's, shared or not, is not found).</summary>
    public async Task<Outcome<DeployedVersion>> DeployAsync(
        string ncaId, Guid functionId, Guid versionId, List<GpuSpecificationDto>? requested, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await GetOwnAsync(ncaId, functionId, versionId, cancellationToken);
        if (version is null)
        {
            return Rejection.VersionNotFound(functionId, versionId, ncaId);
        }

        var prefix = $"Function id '{functionId}', version '{versionId}':";
        switch (version.Status)
        {
            case FunctionStatus.Active or FunctionStatus.Deploying or FunctionStatus.Degrading or FunctionStatus.Degraded:
                return Rejection.Invalid($"{prefix} Status {version.Status.ToString().ToUpperInvariant()}, use PATCH endpoint to update gpu-specification");
            case FunctionStatus.Error:
                return Rejection.Invalid($"{prefix} Function already has a deployment with errors");
        }

        if (await store.GetDeploymentAsync(versionId, cancellationToken) is { Draining: true })
        {
            return Rejection.Invalid($"{prefix} Wait for current deployment to be gracefully completed and removed.");
        }

        if (version.ContainerImage is null)
        {
            return Rejection.Invalid($"{prefix} the emulator runs container functions only; this version is a {(version.HelmChart is not null ? "Helm chart" : "models-only")} function");
        }

        if (FunctionValidation.ValidateDeploymentSpecifications(requested) is { } error)
        {
            return Rejection.Invalid(error);
        }

        var specifications = requested!.Select(s => s.ToDomain(Guid.NewGuid())).ToList();
        using var quotas = await locks.AcquireAsync(Quotas.LockKey, cancellationToken);
        if (await Quotas.CheckDeploymentAsync(versionId, specifications, store, options.Value, cancellationToken) is { } quota)
        {
            return Rejection.Invalid(quota);
        }

        var now = DateTime.UtcNow;
        var deployment = new Deployment
        {
            DeploymentId = Guid.NewGuid(),
            FunctionId = functionId,
            VersionId = versionId,
            Specifications = specifications,
            CreatedAt = now,
            LastUpdatedAt = now,
        };
        await store.SaveDeploymentAsync(deployment, cancellationToken);
        var status = await orchestrator.DeployAsync(version, deployment, cancellationToken);
        return new DeployedVersion(version with { Status = status }, deployment);
    }

    public async Task<Outcome<DeployedVersion>> GetAsync(string ncaId, Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        var version = await GetOwnAsync(ncaId, functionId, versionId, cancellationToken);
        var deployment = version is null ? null : await store.GetDeploymentAsync(versionId, cancellationToken);
        return version is null || deployment is null
            ? DeploymentNotFound(versionId)
            : new DeployedVersion(version, deployment);
    }

    public async Task<Outcome<DeployedVersion>> GetByIdAsync(string ncaId, Guid deploymentId, CancellationToken cancellationToken)
    {
        var deployment = await store.GetDeploymentByIdAsync(deploymentId, cancellationToken);
        var version = deployment is null ? null : await GetOwnAsync(ncaId, deployment.FunctionId, deployment.VersionId, cancellationToken);
        return deployment is null || version is null
            ? Rejection.NotFound($"Deployment id '{deploymentId}': Deployment not found")
            : new DeployedVersion(version, deployment);
    }

    /// <summary>Deprecated full update: instance counts and concurrency may change, GPU type and backend may not.</summary>
    public async Task<Outcome<DeployedVersion>> ReplaceAsync(
        string ncaId, Guid functionId, Guid versionId, List<GpuSpecificationDto>? requested, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await GetOwnAsync(ncaId, functionId, versionId, cancellationToken);
        var current = version is null ? null : await store.GetDeploymentAsync(versionId, cancellationToken);
        if (version is null || current is null || current.Draining)
        {
            return DeploymentNotFound(versionId);
        }

        if (FunctionValidation.ValidateDeploymentSpecifications(requested) is { } error)
        {
            return Rejection.Invalid(error);
        }

        var specifications = new List<GpuSpecification>();
        foreach (var asked in requested!)
        {
            var existing = asked.GpuSpecificationId is { } id
                ? current.Specifications.FirstOrDefault(s => s.GpuSpecificationId == id)
                : current.Specifications.FirstOrDefault(s => s.Gpu == asked.Gpu && s.InstanceType == asked.InstanceType);
            if (existing is not null && (existing.Gpu != asked.Gpu || (asked.Backend is not null && existing.Backend != asked.Backend)))
            {
                return Rejection.Invalid($"Invalid request: GPU type and backend of gpu-specification '{existing.GpuSpecificationId}' cannot change");
            }

            specifications.Add(asked.ToDomain(existing?.GpuSpecificationId ?? Guid.NewGuid()));
        }

        using var quotas = await locks.AcquireAsync(Quotas.LockKey, cancellationToken);
        if (await Quotas.CheckDeploymentAsync(versionId, specifications, store, options.Value, cancellationToken) is { } quota)
        {
            return Rejection.Invalid(quota);
        }

        var updated = await store.UpdateDeploymentAsync(
            versionId, d => d with { Specifications = specifications, LastUpdatedAt = DateTime.UtcNow }, cancellationToken);
        orchestrator.Update(updated!);
        return new DeployedVersion(version, updated!);
    }

    /// <summary>Scales one GPU specification of a deployment (instance counts and autoscaling).</summary>
    public async Task<Outcome<GpuSpecification>> ScaleAsync(
        string ncaId, Guid deploymentId, Guid gpuSpecificationId, UpdateGpuSpecificationRequest request, CancellationToken cancellationToken)
    {
        var found = await store.GetDeploymentByIdAsync(deploymentId, cancellationToken);
        if (found is null || await GetOwnAsync(ncaId, found.FunctionId, found.VersionId, cancellationToken) is null)
        {
            return Rejection.NotFound($"Deployment id '{deploymentId}': Deployment not found");
        }

        using var _ = await locks.AcquireAsync(found.FunctionId, cancellationToken);
        var current = await store.GetDeploymentAsync(found.VersionId, cancellationToken);
        var spec = current?.Specifications.FirstOrDefault(s => s.GpuSpecificationId == gpuSpecificationId);
        if (current is null || current.DeploymentId != deploymentId || spec is null)
        {
            return Rejection.NotFound($"Deployment id '{deploymentId}': GPU specification '{gpuSpecificationId}' not found");
        }

        var changed = spec with
        {
            MinInstances = request.MinInstances ?? spec.MinInstances,
            MaxInstances = request.MaxInstances ?? spec.MaxInstances,
            AutoscalingConfiguration = request.AutoscalingConfiguration ?? spec.AutoscalingConfiguration,
        };
        if (FunctionValidation.ValidateInstanceCounts(changed.MinInstances, changed.MaxInstances) is { } error)
        {
            return Rejection.Invalid(error);
        }

        var specifications = current.Specifications.Select(s => s.GpuSpecificationId == gpuSpecificationId ? changed : s).ToList();
        using var quotas = await locks.AcquireAsync(Quotas.LockKey, cancellationToken);
        if (await Quotas.CheckDeploymentAsync(current.VersionId, specifications, store, options.Value, cancellationToken) is { } quota)
        {
            return Rejection.Invalid(quota);
        }

        var updated = await store.UpdateDeploymentAsync(
            current.VersionId,
            d => d with
            {
                Specifications = [.. d.Specifications.Select(s => s.GpuSpecificationId == gpuSpecificationId ? changed : s)],
                LastUpdatedAt = DateTime.UtcNow,
            },
            cancellationToken);
        orchestrator.Update(updated!);
        return changed;
    }

    /// <summary>
    /// Undeploys (docs/nvcf-contract.md#undeploy): INACTIVE at once; <paramref name="graceful"/> lets queued and running
    /// requests finish. Gives back the version as it is now.
    /// </summary>
    public async Task<Outcome<FunctionVersion>> UndeployAsync(string ncaId, Guid functionId, Guid versionId, bool graceful, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await GetOwnAsync(ncaId, functionId, versionId, cancellationToken);
        if (version is null || await store.GetDeploymentAsync(versionId, cancellationToken) is null)
        {
            return DeploymentNotFound(versionId);
        }

        await orchestrator.UndeployAsync(functionId, versionId, graceful);
        var undeployed = await store.GetVersionAsync(functionId, versionId, cancellationToken) ?? version;
        return undeployed with { Status = FunctionStatus.Inactive };
    }

    /// <summary>A version of account <paramref name="ncaId"/>; another account's is null, as if missing.</summary>
    private async Task<FunctionVersion?> GetOwnAsync(string ncaId, Guid functionId, Guid versionId, CancellationToken cancellationToken) =>
        await store.GetVersionAsync(functionId, versionId, cancellationToken) is { } version && version.NcaId == ncaId ? version : null;

    private static Rejection DeploymentNotFound(Guid versionId) => Rejection.NotFound($"Function version '{versionId}': Deployment not found");
}
