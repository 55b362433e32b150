using System.Text;

namespace Nvcf.Emulator.Domain;

/// <summary>What a registry credential may fetch (the cloud's <c>ArtifactTypeEnum</c>).</summary>
public enum ArtifactType
{
    Container,
    Helm,
    Model,
    Resource,
}

/// <summary>
/// A registry credential of an account (docs/nvcf-contract.md#registry-credentials): a user name and password for one
/// registry host, kept as the cloud keeps it, base64 of <c>username:password</c>. The secret never leaves the emulator
/// except in the pull that uses it.
/// </summary>
public sealed record RegistryCredential
{
    public required Guid Id { get; init; }

    /// <summary>The account the credential belongs to: only its keys see it, and only its functions' pulls use it.</summary>
    public required string NcaId { get; init; }

    /// <summary>The secret's name (<c>registryCredentialName</c>); unique per hostname.</summary>
    public required string Name { get; init; }

    /// <summary>The recognized registry's display name, e.g. "NGC Private Registry".</summary>
    public required string RegistryName { get; init; }

    public required string Hostname { get; init; }
    public required IReadOnlyList<ArtifactType> ArtifactTypes { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public string? Description { get; init; }

    /// <summary>Base64 of <c>username:password</c>, as given.</summary>
    public required string Secret { get; init; }

    public required DateTime CreatedAt { get; init; }
    public required DateTime LastUpdatedAt { get; init; }

    /// <summary>The user name and password in <see cref="Secret"/> (validated when stored).</summary>
    public (string Username, string Password) Decode()
    {
        var raw = Encoding.UTF8.GetString(Convert.FromBase64String(Secret));
        var colon = raw.IndexOf(':', StringComparison.Ordinal);
        return (raw[..colon], raw[(colon + 1)..].TrimEnd(':'));
    }
}
