using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Api.Contracts;

/// <summary>Body of <c>POST /v2/nvcf/registry-credentials</c>; <c>secret.value</c> is base64 of <c>username:password</c>.</summary>
public sealed record AddRegistryCredentialRequest(
    string? RegistryHostname, SecretDto? Secret, List<ArtifactType>? ArtifactTypes, List<string>? Tags, string? Description);

/// <summary>
/// Body of <c>PATCH /v2/nvcf/registry-credentials/{id}</c>: a new secret, artifact types to add, or both. The cloud's
/// field for the types is <c>artifactTypeEnums</c>.
/// </summary>
public sealed record UpdateRegistryCredentialRequest(SecretDto? Secret, List<ArtifactType>? ArtifactTypeEnums);

/// <summary>A registry credential as the API shows it: everything but the secret's value.</summary>
public sealed record RegistryCredentialDetailsDto(
    Guid RegistryCredentialId,
    string NcaId,
    string RegistryCredentialName,
    string RegistryName,
    string RegistryHostname,
    IReadOnlyList<ArtifactType> ArtifactTypes,
    IReadOnlyList<string>? Tags,
    string? Description,
    string ProvisionedBy,
    DateTime LastUpdatedAt,
    DateTime CreatedAt)
{
    /// <summary>Credentials stored through the API are the user's; the cloud's own (<c>SYSTEM</c>) do not exist here.</summary>
    public const string User = "USER";

    public static RegistryCredentialDetailsDto From(RegistryCredential c) => new(
        c.Id, c.NcaId, c.Name, c.RegistryName, c.Hostname, c.ArtifactTypes, c.Tags, c.Description, User, c.LastUpdatedAt, c.CreatedAt);
}

public sealed record RegistryCredentialDetailsResponse(RegistryCredentialDetailsDto RegistryCredential);

public sealed record ListRegistryCredentialDetailsResponse(IReadOnlyList<RegistryCredentialDetailsDto> RegistryCredentials);

public sealed record RecognizedRegistryDto(string Name, string Hostname);

/// <summary>Body of <c>GET /v2/nvcf/recognized-registries</c>: per artifact type (<c>CONTAINER</c>, ...), its registries.</summary>
public sealed record RecognizedRegistriesResponse(IReadOnlyDictionary<string, IReadOnlyList<RecognizedRegistryDto>> RecognizedRegistries);
