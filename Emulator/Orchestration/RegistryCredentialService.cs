using Nvcf.Emulator.Api;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// The rules of registry credential management (docs/nvcf-contract.md#registry-credentials; scope
/// <c>manage_registry_credentials</c>): a credential belongs to the account that added it, and another account's
/// answers as if it did not exist; only recognized registries, a unique secret name per hostname in the account (409),
/// secrets in <c>username:password</c> form, no deletion while an image of the account's functions is on the
/// credential's registry. Changes run one at a time and apply all or, with a <see cref="Rejection"/>, nothing.
/// </summary>
public sealed class RegistryCredentialService(IFunctionStore store, KeyedLock locks, TimeProvider time)
{
    /// <summary>The lock all credential changes share (function locks use the functions' random IDs).</summary>
    private static readonly Guid Changes = new("5e9c1c7e-0000-4000-8000-726567637264");

    public async Task<Outcome<RegistryCredential>> AddAsync(string ncaId, AddRegistryCredentialRequest request, CancellationToken cancellationToken)
    {
        if (RegistryCredentialValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        var hostname = request.RegistryHostname!;
        var secret = request.Secret!;
        if (RegistryCredentialValidation.ValidateSecretFormat(hostname, secret.Value!.GetValue<string>()) is { } secretError)
        {
            return Rejection.Invalid(secretError);
        }

        var types = request.ArtifactTypes!.Distinct().Order().ToList();
        if (Unrecognized(types, hostname) is { } unrecognized)
        {
            return Rejection.Invalid($"Invalid request: {Wire(unrecognized)} registry with hostname {hostname} is not yet recognized");
        }

        using var _ = await locks.AcquireAsync(Changes, cancellationToken);
        var existing = await ListAsync(ncaId, null, cancellationToken);
        if (existing.Any(c => c.Hostname == hostname && c.Name == secret.Name))
        {
            return Rejection.Conflict(
                $"Account '{ncaId}': Registry credential '{secret.Name}' for hostname '{hostname}' already exists in the account - " +
                "Registry credentials must have unique hostname and credential name within an account");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var credential = new RegistryCredential
        {
            Id = Guid.NewGuid(),
            NcaId = ncaId,
            Name = secret.Name!,
            RegistryName = RecognizedRegistries.NameOf(types[0], hostname)!,
            Hostname = hostname,
            ArtifactTypes = types,
            Tags = request.Tags?.Distinct().ToList(),
            Description = request.Description,
            Secret = secret.Value.GetValue<string>(),
            CreatedAt = now,
            LastUpdatedAt = now,
        };
        await store.SaveRegistryCredentialAsync(credential, cancellationToken);
        return credential;
    }

    public async Task<Outcome<RegistryCredential>> GetAsync(string ncaId, Guid id, CancellationToken cancellationToken) =>
        await FindAsync(ncaId, id, cancellationToken) is { } credential ? credential : NotFound(ncaId, id);

    /// <summary>The account's credentials holding any of <paramref name="types"/> (all when null).</summary>
    public async Task<IReadOnlyList<RegistryCredential>> ListAsync(string ncaId, IReadOnlySet<ArtifactType>? types, CancellationToken cancellationToken) =>
        [.. (await store.ListRegistryCredentialsAsync(cancellationToken))
            .Where(c => c.NcaId == ncaId && (types is null || c.ArtifactTypes.Any(types.Contains)))];

    /// <summary>Replaces the secret (and with it the credential's name) and adds artifact types.</summary>
    public async Task<Outcome<RegistryCredential>> UpdateAsync(
        string ncaId, Guid id, UpdateRegistryCredentialRequest request, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(Changes, cancellationToken);
        if (await FindAsync(ncaId, id, cancellationToken) is not { } current)
        {
            return NotFound(ncaId, id);
        }

        if (RegistryCredentialValidation.Validate(request) is { } error)
        {
            return Rejection.Invalid(error);
        }

        var secret = request.Secret;
        if (secret is not null && RegistryCredentialValidation.ValidateSecretFormat(current.Hostname, secret.Value!.GetValue<string>()) is { } secretError)
        {
            return Rejection.Invalid(secretError);
        }

        if (Unrecognized(request.ArtifactTypeEnums ?? [], current.Hostname) is { } unrecognized)
        {
            return Rejection.Invalid(
                $"Invalid request: '{current.RegistryName}' with hostname '{current.Hostname}' not recognized for artifact type '{Wire(unrecognized)}'");
        }

        if (secret is not null
            && (await ListAsync(ncaId, null, cancellationToken)).Any(c => c.Id != id && c.Hostname == current.Hostname && c.Name == secret.Name))
        {
            return Rejection.Conflict(
                $"Account '{ncaId}': Registry credential '{id}' with name '{secret.Name}' for hostname '{current.Hostname}' exists - " +
                "Registry credentials must have unique hostname and credential name within an account ");
        }

        var updated = current with
        {
            Name = secret?.Name ?? current.Name,
            Secret = secret?.Value!.GetValue<string>() ?? current.Secret,
            ArtifactTypes = [.. current.ArtifactTypes.Union(request.ArtifactTypeEnums ?? []).Order()],
            LastUpdatedAt = time.GetUtcNow().UtcDateTime,
        };
        await store.SaveRegistryCredentialAsync(updated, cancellationToken);
        return updated;
    }

    /// <summary>Deletes the credential unless the image (or chart) of one of the account's functions is on its registry; null when deleted.</summary>
    public async Task<Rejection?> DeleteAsync(string ncaId, Guid id, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(Changes, cancellationToken);
        if (await FindAsync(ncaId, id, cancellationToken) is not { } credential)
        {
            return NotFound(ncaId, id);
        }

        var users = (await store.ListVersionsAsync(null, cancellationToken)).Where(v => v.NcaId == ncaId && Uses(v, credential)).ToList();
        if (users.Count > 0)
        {
            return Rejection.Invalid(
                "[" + string.Join(", ", users.Select(v =>
                    $"Registry Credential '{id}': Cannot be deleted as it is in use by Function id '{v.Id}', version '{v.VersionId}' - " +
                    "Delete the function first to be able to delete the registry credential.")) + "]");
        }

        await store.RemoveRegistryCredentialAsync(id, cancellationToken);
        return null;
    }

    private static bool Uses(FunctionVersion version, RegistryCredential credential) =>
        (credential.ArtifactTypes.Contains(ArtifactType.Container)
            && version.ContainerImage is { } image
            && RecognizedRegistries.SameRegistry(credential.Hostname, RecognizedRegistries.RegistryOf(image)))
        || (credential.ArtifactTypes.Contains(ArtifactType.Helm)
            && Uri.TryCreate(version.HelmChart, UriKind.Absolute, out var chart)
            && string.Equals(chart.Authority, credential.Hostname, StringComparison.OrdinalIgnoreCase));

    /// <summary>The credential if it belongs to <paramref name="ncaId"/>; another account's is not found.</summary>
    private async Task<RegistryCredential?> FindAsync(string ncaId, Guid id, CancellationToken cancellationToken) =>
        await store.GetRegistryCredentialAsync(id, cancellationToken) is { } credential && credential.NcaId == ncaId ? credential : null;

    private static Rejection NotFound(string ncaId, Guid id) => Rejection.NotFound($"Registry Credential '{id}': Not found in account '{ncaId}'");

    private static ArtifactType? Unrecognized(IEnumerable<ArtifactType> types, string hostname) =>
        types.Where(t => RecognizedRegistries.NameOf(t, hostname) is null).Select(t => (ArtifactType?)t).FirstOrDefault();

    private static string Wire(ArtifactType type) => type.ToString().ToUpperInvariant();
}
