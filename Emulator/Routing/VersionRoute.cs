using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Routing;

/// <summary>A deployed version as the invocation path sees it: its definition, live status and instance pool.</summary>
public sealed class VersionRoute(FunctionVersion version)
{
    private volatile FunctionStatus _status = FunctionStatus.Deploying;
    private volatile VersionRateLimiter? _rateLimiter;

    public FunctionVersion Version { get; } = version;

    public InstancePool Pool { get; } = new();

    public FunctionStatus Status
    {
        get => _status;
        set => _status = value;
    }

    /// <summary>The version's rate limit as it stands now (replaced or removed without a redeploy); null when it has none.</summary>
    public VersionRateLimiter? RateLimiter
    {
        get => _rateLimiter;
        set => _rateLimiter = value;
    }
}
