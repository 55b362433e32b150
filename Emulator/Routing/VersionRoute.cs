using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Routing;

/// <summary>A deployed version as the invocation path sees it: its definition, live status and instance pool.</summary>
public sealed class VersionRoute(FunctionVersion version)
{
    private volatile FunctionStatus _status = FunctionStatus.Deploying;

    public FunctionVersion Version { get; } = version;

    public InstancePool Pool { get; } = new();

    public FunctionStatus Status
    {
        get => _status;
        set => _status = value;
    }
}
