using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.State;

/// <summary>The standalone default: state lives as long as the process.</summary>
public sealed class InMemoryFunctionStore : IFunctionStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, FunctionVersion> _versions = [];
    private readonly Dictionary<Guid, Deployment> _deployments = [];
    private readonly Dictionary<Guid, RegistryCredential> _registryCredentials = [];
    private readonly Dictionary<Guid, Telemetry> _telemetries = [];

    /// <summary>Not durable: nothing survives the process, so there is nothing to adopt.</summary>
    public ValueTask<string?> GetStateIdAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);

    public ValueTask<FunctionVersion?> GetVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_versions.TryGetValue(versionId, out var v) && v.Id == functionId ? v : null);
        }
    }

    public ValueTask<IReadOnlyList<FunctionVersion>> ListVersionsAsync(Guid? functionId = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<FunctionVersion> list = _versions.Values
                .Where(v => functionId is null || v.Id == functionId)
                .OrderBy(v => v.CreatedAt)
                .ToList();
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask AddVersionAsync(FunctionVersion version, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _versions.Add(version.VersionId, version);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<FunctionVersion?> UpdateVersionAsync(Guid functionId, Guid versionId, Func<FunctionVersion, FunctionVersion> update, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_versions.TryGetValue(versionId, out var current) || current.Id != functionId)
            {
                return ValueTask.FromResult<FunctionVersion?>(null);
            }

            var updated = update(current);
            _versions[versionId] = updated;
            return ValueTask.FromResult<FunctionVersion?>(updated);
        }
    }

    public ValueTask<bool> RemoveVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var removed = _versions.TryGetValue(versionId, out var v) && v.Id == functionId && _versions.Remove(versionId);
            return ValueTask.FromResult(removed);
        }
    }

    public ValueTask<Deployment?> GetDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_deployments.GetValueOrDefault(versionId));
        }
    }

    public ValueTask<Deployment?> GetDeploymentByIdAsync(Guid deploymentId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_deployments.Values.FirstOrDefault(d => d.DeploymentId == deploymentId));
        }
    }

    public ValueTask<IReadOnlyList<Deployment>> ListDeploymentsAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<Deployment>>([.. _deployments.Values]);
        }
    }

    public ValueTask SaveDeploymentAsync(Deployment deployment, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _deployments[deployment.VersionId] = deployment;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<Deployment?> UpdateDeploymentAsync(Guid versionId, Func<Deployment, Deployment> update, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_deployments.TryGetValue(versionId, out var current))
            {
                return ValueTask.FromResult<Deployment?>(null);
            }

            var updated = update(current);
            _deployments[versionId] = updated;
            return ValueTask.FromResult<Deployment?>(updated);
        }
    }

    public ValueTask<bool> RemoveDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_deployments.Remove(versionId));
        }
    }

    public ValueTask<IReadOnlyList<RegistryCredential>> ListRegistryCredentialsAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<RegistryCredential>>([.. _registryCredentials.Values.OrderBy(c => c.CreatedAt)]);
        }
    }

    public ValueTask<RegistryCredential?> GetRegistryCredentialAsync(Guid id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_registryCredentials.GetValueOrDefault(id));
        }
    }

    public ValueTask SaveRegistryCredentialAsync(RegistryCredential credential, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _registryCredentials[credential.Id] = credential;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> RemoveRegistryCredentialAsync(Guid id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_registryCredentials.Remove(id));
        }
    }

    public ValueTask<IReadOnlyList<Telemetry>> ListTelemetriesAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<Telemetry>>([.. _telemetries.Values.OrderBy(t => t.CreatedAt)]);
        }
    }

    public ValueTask<Telemetry?> GetTelemetryAsync(Guid telemetryId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_telemetries.GetValueOrDefault(telemetryId));
        }
    }

    public ValueTask AddTelemetryAsync(Telemetry telemetry, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _telemetries.Add(telemetry.TelemetryId, telemetry);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<Telemetry?> UpdateTelemetryAsync(Guid telemetryId, Func<Telemetry, Telemetry> update, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_telemetries.TryGetValue(telemetryId, out var current))
            {
                return ValueTask.FromResult<Telemetry?>(null);
            }

            var updated = update(current);
            _telemetries[telemetryId] = updated;
            return ValueTask.FromResult<Telemetry?>(updated);
        }
    }

    public ValueTask<bool> RemoveTelemetryAsync(Guid telemetryId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_telemetries.Remove(telemetryId));
        }
    }
}
