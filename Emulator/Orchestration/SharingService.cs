using Nvcf.Emulator.Api;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// A function shared with other accounts, or one version's sharing (<paramref name="VersionId"/> set): the accounts
/// of that level, or null when the answer names none (after a delete).
/// </summary>
public sealed record SharedParties(FunctionVersion Version, Guid? VersionId, IReadOnlyList<string>? Parties);

/// <summary>
/// The rules of function sharing (docs/nvcf-contract.md#function-sharing), as NVIDIA's <c>AuthorizedPartiesFacade</c>
/// and <c>AuthorizedPartiesService</c> apply them: only the owning account shares; parties are accounts known here
/// (the default one and the configured ones), never the owner, and <c>*</c> (public) is refused; a function-level set
/// is kept on every version (and inherited by new ones), a version-level set on its version. Every change happens under
/// the function's lock, reaches the deployed versions' routes at once, and a <see cref="Rejection"/> changes nothing.
/// </summary>
public sealed class SharingService(IFunctionStore store, KeyedLock locks, DeploymentOrchestrator orchestrator, Accounts accounts)
{
    private const string Wildcard = "*";
    private const string RequestObject = "authorizedPartiesRequest";
    private const string PatchObject = "patchAuthorizedPartyRequest";

    /// <summary>Replaces the function's (or version's) parties with <paramref name="request"/>'s.</summary>
    public async Task<Outcome<SharedParties>> ShareAsync(
        string ncaId, Guid functionId, Guid? versionId, AuthorizedPartiesRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } invalid)
        {
            return Rejection.Invalid(invalid);
        }

        var parties = request.AuthorizedParties!.Select(p => p!).ToList();
        if (parties.Any(p => p.NcaId == Wildcard))
        {
            return Rejection.Invalid($"{Subject(functionId, versionId)}: Only NVIDIA Super Admin can make a function public");
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var found = await OwnVersionsAsync(ncaId, functionId, versionId, cancellationToken);
        if (found.Rejection is { } notFound)
        {
            return notFound;
        }

        foreach (var party in parties)
        {
            if (CheckParty(ncaId, party) is { } bad)
            {
                return Rejection.Invalid(bad);
            }
        }

        var accountIds = parties.Select(p => p.NcaId!).ToList();
        var changed = await ApplyAsync(found.Value!, versionId, _ => accountIds, cancellationToken);
        return new SharedParties(Oldest(changed), versionId, Level(Oldest(changed), versionId));
    }

    /// <summary>Every version of the function with the accounts it is shared with (function and version level together).</summary>
    public async Task<Outcome<SharedParties[]>> ListAsync(string ncaId, Guid functionId, CancellationToken cancellationToken)
    {
        var found = await OwnVersionsAsync(ncaId, functionId, null, cancellationToken);
        return found.Rejection is { } notFound
            ? notFound
            : found.Value!.Select(v => new SharedParties(v, v.VersionId, [.. v.AuthorizedAccounts])).ToArray();
    }

    /// <summary>One version with the accounts it is shared with (function and version level together).</summary>
    public async Task<Outcome<SharedParties>> GetAsync(string ncaId, Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        var found = await OwnVersionsAsync(ncaId, functionId, versionId, cancellationToken);
        return found.Rejection is { } notFound
            ? notFound
            : new SharedParties(found.Value![0], versionId, [.. found.Value[0].AuthorizedAccounts]);
    }

    /// <summary>
    /// Adds one account to the parties already there: 404 when there are none at that level, 409 when it is one of them.
    /// </summary>
    public Task<Outcome<SharedParties>> AddAsync(
        string ncaId, Guid functionId, Guid? versionId, PatchAuthorizedPartyRequest request, CancellationToken cancellationToken) =>
        PatchAsync(ncaId, functionId, versionId, request, "add", (current, party) =>
            current.Contains(party)
                ? Rejection.Conflict(versionId is { } v
                    ? $"Function id '{functionId}', version '{v}': Account '{party}' is already authorized to access the function version"
                    : $"Function id '{functionId}': Account '{party}' is already authorized to access the function")
                : null,
            (current, party) => [.. current, party],
            cancellationToken);

    /// <summary>Removes one account from the parties: 404 when there are none at that level, or it is not one of them.</summary>
    public Task<Outcome<SharedParties>> RemoveAsync(
        string ncaId, Guid functionId, Guid? versionId, PatchAuthorizedPartyRequest request, CancellationToken cancellationToken) =>
        PatchAsync(ncaId, functionId, versionId, request, "remove", (current, party) =>
            current.Contains(party)
                ? null
                : Rejection.NotFound(versionId is { } v
                    ? $"Function id '{functionId}', version '{v}': Specified account '{party}' is not an authorized party for the function version"
                    : $"Function id '{functionId}': Specified account '{party}' is not an authorized party for the function"),
            (current, party) => [.. current.Where(p => p != party)],
            cancellationToken);

    /// <summary>Removes every party of the function (or version); the answer names none.</summary>
    public async Task<Outcome<SharedParties>> UnshareAsync(string ncaId, Guid functionId, Guid? versionId, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var found = await OwnVersionsAsync(ncaId, functionId, versionId, cancellationToken);
        if (found.Rejection is { } notFound)
        {
            return notFound;
        }

        var changed = await ApplyAsync(found.Value!, versionId, _ => [], cancellationToken);
        return new SharedParties(Oldest(changed), versionId, null);
    }

    private async Task<Outcome<SharedParties>> PatchAsync(
        string ncaId,
        Guid functionId,
        Guid? versionId,
        PatchAuthorizedPartyRequest request,
        string operation,
        Func<IReadOnlyList<string>, string, Rejection?> check,
        Func<IReadOnlyList<string>, string, IReadOnlyList<string>> change,
        CancellationToken cancellationToken)
    {
        if (request.AuthorizedParty is not { } party)
        {
            return Rejection.Invalid(FunctionValidation.Field(PatchObject, "authorizedParty", null, "must not be null"));
        }

        if (string.IsNullOrWhiteSpace(party.NcaId))
        {
            return Rejection.Invalid(FunctionValidation.Field(PatchObject, "authorizedParty.ncaId", party.NcaId, "must not be blank"));
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var found = await OwnVersionsAsync(ncaId, functionId, versionId, cancellationToken);
        if (found.Rejection is { } notFound)
        {
            return notFound;
        }

        if (party.NcaId == Wildcard)
        {
            return Rejection.Invalid(versionId is { } v
                ? $"Function id '{functionId}', version '{v}': Invalid authz account '{Wildcard}' specified for {operation} operation"
                : $"Function id '{functionId}': Invalid authz account '{Wildcard}' specified for {operation} operation");
        }

        if (CheckParty(ncaId, party) is { } bad)
        {
            return Rejection.Invalid(bad);
        }

        var current = Level(Oldest(found.Value!), versionId);
        if (current.Count == 0)
        {
            return Rejection.NotFound($"{Subject(functionId, versionId)}: Does not have any authorized parties to be patched");
        }

        if (check(current, party.NcaId) is { } refused)
        {
            return refused;
        }

        var changed = await ApplyAsync(found.Value!, versionId, level => change(level, party.NcaId), cancellationToken);
        return new SharedParties(Oldest(changed), versionId, Level(Oldest(changed), versionId));
    }

    /// <summary>The caller's own versions of the function (or the one version), oldest first; else the cloud's 404.</summary>
    private async Task<Outcome<FunctionVersion[]>> OwnVersionsAsync(
        string ncaId, Guid functionId, Guid? versionId, CancellationToken cancellationToken)
    {
        if (versionId is { } v)
        {
            return await store.GetVersionAsync(functionId, v, cancellationToken) is { } version && version.NcaId == ncaId
                ? new[] { version }
                : Rejection.VersionNotFound(functionId, v, ncaId);
        }

        var versions = (await store.ListVersionsAsync(functionId, cancellationToken)).Where(x => x.NcaId == ncaId).ToArray();
        return versions.Length > 0 ? versions : Rejection.FunctionNotFound(functionId, ncaId);
    }

    /// <summary>Sets the level's parties: the version's own, or the function's on every version; then the routes see them.</summary>
    private async Task<FunctionVersion[]> ApplyAsync(
        FunctionVersion[] versions, Guid? versionId, Func<IReadOnlyList<string>, IReadOnlyList<string>> change, CancellationToken cancellationToken)
    {
        var changed = new List<FunctionVersion>(versions.Length);
        foreach (var version in versions)
        {
            var updated = await store.UpdateVersionAsync(version.Id, version.VersionId, v => versionId is null
                ? v with { FunctionAuthorizedAccounts = change(v.FunctionAuthorizedAccounts) }
                : v with { VersionAuthorizedAccounts = change(v.VersionAuthorizedAccounts) }, cancellationToken);
            if (updated is not null)
            {
                orchestrator.UpdateSharing(updated);
                changed.Add(updated);
            }
        }

        return changed.Count > 0 ? [.. changed] : versions;
    }

    /// <summary>The bean-validation checks of <c>AuthorizedPartiesRequest</c>.</summary>
    private static string? Validate(AuthorizedPartiesRequest request)
    {
        if (request.AuthorizedParties is not { Count: > 0 } parties)
        {
            return FunctionValidation.Field(RequestObject, "authorizedParties", request.AuthorizedParties is null ? null : "[]", "must not be empty");
        }

        for (var i = 0; i < parties.Count; i++)
        {
            if (parties[i] is not { } party)
            {
                return FunctionValidation.Field(RequestObject, $"authorizedParties[{i}]", null, "must not be null");
            }

            if (string.IsNullOrWhiteSpace(party.NcaId))
            {
                return FunctionValidation.Field(RequestObject, $"authorizedParties[{i}].ncaId", party.NcaId, "must not be blank");
            }
        }

        var rejected = "[" + string.Join(", ", parties) + "]";
        if (parties.Any(p => p!.ClientId is { } c && string.IsNullOrWhiteSpace(c)))
        {
            return FunctionValidation.Field(RequestObject, "authorizedParties", rejected, "Invalid request: Issues with the request payload");
        }

        if (parties.Select(p => p!.NcaId).Distinct(StringComparer.Ordinal).Count() != parties.Count)
        {
            return FunctionValidation.Field(RequestObject, "authorizedParties", rejected, "Invalid request: Duplicate authorized accounts specified");
        }

        return parties.Any(p => p!.NcaId == Wildcard) && (parties.Count > 1 || !string.IsNullOrEmpty(parties[0]!.ClientId))
            ? FunctionValidation.Field(RequestObject, "authorizedParties", rejected, "Invalid request: Multiple authz parties or clientId specified with wildcard account")
            : null;
    }

    /// <summary>A party must be another account that exists here; clients are not modelled, so a <c>clientId</c> names none.</summary>
    private string? CheckParty(string ncaId, AuthorizedPartyDto party) =>
        party.NcaId == ncaId ? $"Invalid request: Authorized party mapped to account '{ncaId}' is invalid"
        : !string.IsNullOrEmpty(party.ClientId) ? $"Client '{party.ClientId}' is not found and may not be onboarded yet"
        : !accounts.Known.Contains(party.NcaId!) ? $"Account with ncaId '{party.NcaId}' not found"
        : null;

    private static IReadOnlyList<string> Level(FunctionVersion version, Guid? versionId) =>
        versionId is null ? version.FunctionAuthorizedAccounts : version.VersionAuthorizedAccounts;

    private static FunctionVersion Oldest(FunctionVersion[] versions) => versions.MinBy(v => v.CreatedAt)!;

    private static string Subject(Guid functionId, Guid? versionId) =>
        versionId is { } v ? $"Function id '{functionId}', version '{v}'" : $"Function id '{functionId}'";
}
