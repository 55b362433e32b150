using System.Collections.Frozen;
using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Routing;

/// <summary>A deployed version as the invocation path sees it: its definition, live status and instance pool.</summary>
public sealed class VersionRoute(FunctionVersion version)
{
    private volatile FunctionStatus _status = FunctionStatus.Deploying;
    private volatile VersionRateLimiter? _rateLimiter;
    private volatile FrozenSet<string> _sharedWith = version.AuthorizedAccounts.ToFrozenSet(StringComparer.Ordinal);

    public FunctionVersion Version { get; } = version;

    public InstancePool Pool { get; } = new();

    public FunctionStatus Status
    {
        get => _status;
        set => _status = value;
    }

    /// <summary>
    /// Whether account <paramref name="ncaId"/> may invoke this version (docs/nvcf-contract.md#function-sharing): it owns
    /// it, or the version is shared with it now.
    /// </summary>
    public bool MayBeInvokedBy(string ncaId) => Version.NcaId == ncaId || _sharedWith.Contains(ncaId);

    /// <summary>Replaces the accounts the version is shared with, for the invocations that follow.</summary>
    public void ShareWith(IEnumerable<string> ncaIds) => _sharedWith = ncaIds.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The version's rate limit as it stands now (replaced or removed without a redeploy); null when it has none.</summary>
    public VersionRateLimiter? RateLimiter
    {
        get => _rateLimiter;
        set => _rateLimiter = value;
    }
}
