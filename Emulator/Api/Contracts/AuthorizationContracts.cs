namespace Nvcf.Emulator.Api.Contracts;

/// <summary>An account a function is shared with (<c>AuthorizedPartyDto</c>); <c>clientId</c> is deprecated.</summary>
public sealed record AuthorizedPartyDto(string? NcaId, string? ClientId = null)
{
    /// <summary>As the cloud writes a rejected party (a Java record's text).</summary>
    public override string ToString() => $"AuthorizedPartyDto[clientId={ClientId ?? "null"}, ncaId={NcaId ?? "null"}]";
}

/// <summary>Body of <c>POST /v2/nvcf/authorizations/functions/{id}[/versions/{versionId}]</c>: replaces the parties.</summary>
public sealed record AuthorizedPartiesRequest(List<AuthorizedPartyDto?>? AuthorizedParties);

/// <summary>Body of <c>PATCH .../add</c> and <c>PATCH .../remove</c>.</summary>
public sealed record PatchAuthorizedPartyRequest(AuthorizedPartyDto? AuthorizedParty);

/// <summary>A function (or one version, with <c>versionId</c>) and the accounts it is shared with.</summary>
public sealed record AuthorizedPartiesByFunctionDto(Guid Id, string NcaId, Guid? VersionId, IReadOnlyList<AuthorizedPartyDto>? AuthorizedParties)
{
    public static AuthorizedPartiesByFunctionDto From(Orchestration.SharedParties shared) => new(
        shared.Version.Id,
        shared.Version.NcaId,
        shared.VersionId,
        shared.Parties is { } parties ? [.. parties.Select(p => new AuthorizedPartyDto(p))] : null);
}

public sealed record AuthorizedPartiesResponse(AuthorizedPartiesByFunctionDto Function);

public sealed record ListAuthorizedPartiesResponse(IReadOnlyList<AuthorizedPartiesByFunctionDto> Functions);
