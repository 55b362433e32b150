using System.Collections.Concurrent;
using System.Collections.Immutable;
using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// The routing decision: which deployed version serves an invocation. Versions are published here by the
/// orchestrator as they are deployed and withdrawn when they are undeployed.
/// </summary>
public sealed class FunctionRouter
{
    private readonly ConcurrentDictionary<Guid, ImmutableArray<VersionRoute>> _routes = new();

    public void Publish(VersionRoute route) =>
        _routes.AddOrUpdate(
            route.Version.Id,
            static (_, r) => [r],
            static (_, routes, r) => routes.RemoveAll(x => x.Version.VersionId == r.Version.VersionId).Add(r),
            route);

    public void Withdraw(Guid functionId, Guid versionId)
    {
        while (_routes.TryGetValue(functionId, out var routes))
        {
            var remaining = routes.RemoveAll(r => r.Version.VersionId == versionId);
            if (remaining.IsEmpty
                ? _routes.TryRemove(new KeyValuePair<Guid, ImmutableArray<VersionRoute>>(functionId, routes))
                : _routes.TryUpdate(functionId, remaining, routes))
            {
                return;
            }
        }
    }

    /// <summary>Every deployed version.</summary>
    public IEnumerable<VersionRoute> AllRoutes() => _routes.Values.SelectMany(r => r);

    /// <summary>The deployed versions of a function.</summary>
    public IReadOnlyList<VersionRoute> RoutesOf(Guid functionId) =>
        _routes.TryGetValue(functionId, out var routes) ? routes : [];

    /// <summary>Where a request waits for an instance slot, if it does.</summary>
    public (VersionRoute Route, int Position)? FindQueued(Guid requestId)
    {
        foreach (var routes in _routes.Values)
        {
            foreach (var route in routes)
            {
                if (route.Pool.PositionOf(requestId) is { } position)
                {
                    return (route, position);
                }
            }
        }

        return null;
    }

    /// <summary>
    /// As the cloud does (docs/nvcf-contract.md#version-selection): among the function's versions that account
    /// <paramref name="ncaId"/> may invoke (its own, or shared with it) and that are ACTIVE or DEGRADING, one chosen
    /// uniformly at random per request, or the pinned version when <paramref name="versionId"/> is given.
    /// </summary>
    public RouteSelection Select(Guid functionId, Guid? versionId, string ncaId)
    {
        if (!_routes.TryGetValue(functionId, out var routes))
        {
            return RouteSelection.NotFound;
        }

        VersionRoute? chosen = null;
        var eligible = 0;
        var degraded = 0;
        foreach (var route in routes)
        {
            if ((versionId is { } pinned && route.Version.VersionId != pinned) || !route.MayBeInvokedBy(ncaId))
            {
                continue;
            }

            var status = route.Status;
            if (FunctionVersion.IsInvocable(status))
            {
                // Reservoir sampling: uniform over the eligible versions in one pass, without allocating.
                eligible++;
                if (Random.Shared.Next(eligible) == 0)
                {
                    chosen = route;
                }
            }
            else if (status == FunctionStatus.Degraded)
            {
                degraded++;
            }
        }

        return chosen is not null ? new RouteSelection(chosen, RouteFailure.None)
            : degraded > 0 ? RouteSelection.Degraded
            : RouteSelection.NotFound;
    }
}

public enum RouteFailure
{
    None,
    NotFound,
    Degraded,
}

public readonly record struct RouteSelection(VersionRoute? Route, RouteFailure Failure)
{
    public static readonly RouteSelection NotFound = new(null, RouteFailure.NotFound);
    public static readonly RouteSelection Degraded = new(null, RouteFailure.Degraded);
}
