using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.State;

/// <summary>
/// Durable state: function versions and their deployments (what the user asked for and the status
/// reported back), and the account's registry credentials and telemetry endpoints. Running instances are not stored
/// here; the orchestrator owns them.
/// </summary>
public interface IFunctionStore
{
    /// <summary>
    /// Identifies a durable store (created once, the same for every emulator using it), or null when the state lives
    /// only as long as the process. Containers are labelled with it, so a restarted emulator can adopt its own.
    /// </summary>
    ValueTask<string?> GetStateIdAsync(CancellationToken cancellationToken = default);

    ValueTask<FunctionVersion?> GetVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken = default);

    /// <summary>Every version, or every version of one function, ordered by creation time.</summary>
    ValueTask<IReadOnlyList<FunctionVersion>> ListVersionsAsync(Guid? functionId = null, CancellationToken cancellationToken = default);

    ValueTask AddVersionAsync(FunctionVersion version, CancellationToken cancellationToken = default);

    /// <summary>Applies <paramref name="update"/> atomically; returns the new value, or null when the version is gone.</summary>
    ValueTask<FunctionVersion?> UpdateVersionAsync(Guid functionId, Guid versionId, Func<FunctionVersion, FunctionVersion> update, CancellationToken cancellationToken = default);

    ValueTask<bool> RemoveVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken = default);

    ValueTask<Deployment?> GetDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default);

    ValueTask<Deployment?> GetDeploymentByIdAsync(Guid deploymentId, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<Deployment>> ListDeploymentsAsync(CancellationToken cancellationToken = default);

    ValueTask SaveDeploymentAsync(Deployment deployment, CancellationToken cancellationToken = default);

    /// <summary>Applies <paramref name="update"/> atomically; returns the new value, or null when there is no deployment.</summary>
    ValueTask<Deployment?> UpdateDeploymentAsync(Guid versionId, Func<Deployment, Deployment> update, CancellationToken cancellationToken = default);

    ValueTask<bool> RemoveDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default);

    /// <summary>Every registry credential, ordered by creation time.</summary>
    ValueTask<IReadOnlyList<RegistryCredential>> ListRegistryCredentialsAsync(CancellationToken cancellationToken = default);

    ValueTask<RegistryCredential?> GetRegistryCredentialAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>Adds or replaces the credential with <see cref="RegistryCredential.Id"/>.</summary>
    ValueTask SaveRegistryCredentialAsync(RegistryCredential credential, CancellationToken cancellationToken = default);

    ValueTask<bool> RemoveRegistryCredentialAsync(Guid id, CancellationToken cancellationToken = default);
    ValueTask<IReadOnlyList<Telemetry>> ListTelemetriesAsync(CancellationToken cancellationToken = default);

    ValueTask<Telemetry?> GetTelemetryAsync(Guid telemetryId, CancellationToken cancellationToken = default);

    ValueTask AddTelemetryAsync(Telemetry telemetry, CancellationToken cancellationToken = default);

    /// <summary>Applies <paramref name="update"/> atomically; returns the new value, or null when the telemetry is gone.</summary>
    ValueTask<Telemetry?> UpdateTelemetryAsync(Guid telemetryId, Func<Telemetry, Telemetry> update, CancellationToken cancellationToken = default);

    ValueTask<bool> RemoveTelemetryAsync(Guid telemetryId, CancellationToken cancellationToken = default);
}
