using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Runtime;

/// <summary>
/// Runs function instances. The Docker engine is the real one (<see cref="Docker.DockerFunctionRuntime"/>);
/// tests may substitute a fake for unit tests of the layers above.
/// </summary>
public interface IFunctionRuntime
{
    /// <summary>
    /// Starts one instance: image present or pulled, container created and started, address resolved.
    /// Readiness is not awaited here. Throws <see cref="InstanceStartException"/> with a cause a user can act on.
    /// </summary>
    Task<RuntimeInstance> StartAsync(InstanceSpec spec, CancellationToken cancellationToken);

    /// <summary>Whether the instance's container still runs, and if not, how it ended.</summary>
    Task<InstanceObservation> ObserveAsync(RuntimeInstance instance, CancellationToken cancellationToken);

    /// <summary>Completes when the instance's container stops running, with how it ended.</summary>
    Task<InstanceObservation> WaitForExitAsync(RuntimeInstance instance, CancellationToken cancellationToken);

    /// <summary>The last lines the container wrote to stdout and stderr.</summary>
    Task<string> ReadLogTailAsync(RuntimeInstance instance, int lines, CancellationToken cancellationToken);

    /// <summary>Stops and removes the instance's container; a container already gone is not an error.</summary>
    Task RemoveAsync(RuntimeInstance instance, CancellationToken cancellationToken);

    /// <summary>Removes containers left behind by emulator processes that no longer run. Returns how many.</summary>
    Task<int> ReapStaleAsync(CancellationToken cancellationToken);
}

/// <summary>Everything needed to start one instance of a function version. Built in one place: <see cref="InstanceSpec.For"/>.</summary>
public sealed record InstanceSpec
{
    public required Guid InstanceId { get; init; }
    public required Guid FunctionId { get; init; }
    public required Guid VersionId { get; init; }
    public required Guid DeploymentId { get; init; }
    public required string FunctionName { get; init; }
    public required string Image { get; init; }

    /// <summary>The command line that replaces the image's CMD (<c>containerArgs</c>), or null.</summary>
    public string? Args { get; init; }

    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>Container ports to make reachable from the emulator (inference and health).</summary>
    public required IReadOnlyList<int> Ports { get; init; }

    public required string Gpu { get; init; }
    public required string InstanceType { get; init; }

    /// <summary>Host folders mounted at <c>/var/inf</c>.</summary>
    public required InstanceFolders Folders { get; init; }

    public static InstanceSpec For(FunctionVersion version, Deployment deployment, GpuSpecification spec, string workDirectory)
    {
        var instanceId = Guid.NewGuid();
        return new()
        {
        InstanceId = instanceId,
        FunctionId = version.Id,
        VersionId = version.VersionId,
        DeploymentId = deployment.DeploymentId,
        FunctionName = version.Name,
        Image = version.ContainerImage ?? throw new InvalidOperationException("Only container functions have instances."),
        Args = version.ContainerArgs,
        Environment = InstanceEnvironment.For(version, spec),
        Ports = version.Health.Port == version.EffectiveInferencePort
            ? [version.EffectiveInferencePort]
            : [version.EffectiveInferencePort, version.Health.Port],
        Gpu = spec.Gpu,
        InstanceType = spec.InstanceType,
        Folders = InstanceFolders.For(workDirectory, instanceId),
        };
    }
}

/// <summary>A started instance and where to reach it.</summary>
/// <param name="ContainerId">The engine's container ID.</param>
/// <param name="Name">The container name, as shown by <c>docker ps</c>.</param>
/// <param name="ImageId">The image the container runs (a digest, so a rebuilt tag is noticed).</param>
/// <param name="Endpoints">Container port → base address reachable from the emulator.</param>
public sealed record RuntimeInstance(string ContainerId, string Name, string ImageId, IReadOnlyDictionary<int, Uri> Endpoints);

public enum InstanceRunState
{
    Running,
    Exited,
    Missing,
}

public sealed record InstanceObservation(InstanceRunState State, long? ExitCode = null, string? Error = null)
{
    public static readonly InstanceObservation Running = new(InstanceRunState.Running);
    public static readonly InstanceObservation Missing = new(InstanceRunState.Missing);
}

/// <summary>An instance could not be started; <see cref="Exception.Message"/> says why, for the user.</summary>
public sealed class InstanceStartException(string message, Exception? innerException = null) : Exception(message, innerException);
