using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime.Gpu;

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

    /// <summary>
    /// Removes every container of a deployment that is gone, whatever state it is in: the last owner of anything its
    /// instances left. Returns how many there were. The default: none.
    /// </summary>
    Task<int> RemoveDeploymentAsync(Guid deploymentId, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>
    /// Removes containers left behind by emulator processes that no longer run, except those kept for a durable store
    /// (the next emulator on that store adopts or removes them). Returns how many.
    /// </summary>
    Task<int> ReapStaleAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Every container the emulator created (of any emulator process), running or not, with what its labels say:
    /// what a restarted emulator with a durable store needs to adopt its instances. The default: none.
    /// </summary>
    Task<IReadOnlyList<RuntimeContainer>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RuntimeContainer>>([]);

    /// <summary>How instances get GPUs here: the mode, the host's GPUs, warnings. The default: none, on the CPU.</summary>
    Task<GpuPassthrough> GetGpuPassthroughAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new GpuPassthrough { Mode = GpuMode.None });
}

/// <summary>Everything needed to start one instance of a function version. Built in one place: <see cref="InstanceSpec.For"/>.</summary>
public sealed record InstanceSpec
{
    public required Guid InstanceId { get; init; }
    public required Guid FunctionId { get; init; }
    public required Guid VersionId { get; init; }
    public required Guid DeploymentId { get; init; }
    public required string FunctionName { get; init; }

    /// <summary>The function's account: a pull of <see cref="Image"/> uses its registry credentials.</summary>
    public required string NcaId { get; init; }

    public required string Image { get; init; }

    /// <summary>The command line that replaces the image's CMD (<c>containerArgs</c>), or null.</summary>
    public string? Args { get; init; }

    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>Container ports to make reachable from the emulator (inference and health).</summary>
    public required IReadOnlyList<int> Ports { get; init; }

    public required string Gpu { get; init; }
    public required string InstanceType { get; init; }

    /// <summary>GPUs per instance, from <see cref="InstanceType"/> (<see cref="InstanceTypes.GpuCount"/>).</summary>
    public int GpuCount => InstanceTypes.GpuCount(InstanceType);

    /// <summary>Host folders mounted at <c>/var/inf</c>.</summary>
    public required InstanceFolders Folders { get; init; }

    /// <summary>The GPU specification the instance serves.</summary>
    public Guid GpuSpecificationId { get; init; }

    /// <summary>The durable store the instance belongs to (<see cref="State.IFunctionStore.GetStateIdAsync"/>), or null.</summary>
    public string? StateId { get; init; }

    /// <summary>
    /// The spec of a new instance, or with <paramref name="instanceId"/> of an adopted one (same ID, same folders);
    /// <paramref name="telemetry"/> says where its telemetries are reached.
    /// </summary>
    public static InstanceSpec For(
        FunctionVersion version,
        Deployment deployment,
        GpuSpecification spec,
        string workDirectory,
        string? stateId = null,
        Guid? instanceId = null,
        Otlp.InstanceTelemetry? telemetry = null)
    {
        var id = instanceId ?? Guid.NewGuid();
        return new()
        {
        InstanceId = id,
        FunctionId = version.Id,
        VersionId = version.VersionId,
        DeploymentId = deployment.DeploymentId,
        FunctionName = version.Name,
        NcaId = version.NcaId,
        Image = version.ContainerImage ?? throw new InvalidOperationException("Only container functions have instances."),
        Args = version.ContainerArgs,
        Environment = InstanceEnvironment.For(version, spec, id, telemetry),
        Ports = version.Health.Port == version.EffectiveInferencePort
            ? [version.EffectiveInferencePort]
            : [version.EffectiveInferencePort, version.Health.Port],
        Gpu = spec.Gpu,
        InstanceType = spec.InstanceType,
        Folders = InstanceFolders.For(workDirectory, id),
        GpuSpecificationId = spec.GpuSpecificationId,
        StateId = stateId,
        };
    }
}

/// <summary>A started instance and where to reach it.</summary>
/// <param name="ContainerId">The engine's container ID.</param>
/// <param name="Name">The container name, as shown by <c>docker ps</c>.</param>
/// <param name="ImageId">The image the container runs (a digest, so a rebuilt tag is noticed).</param>
/// <param name="Endpoints">Container port → base address reachable from the emulator.</param>
public sealed record RuntimeInstance(string ContainerId, string Name, string ImageId, IReadOnlyDictionary<int, Uri> Endpoints)
{
    /// <summary>What the instance runs on, for people: e.g. "GPU 0 (H100), raw device mode (…)"; null when unknown.</summary>
    public string? Gpus { get; init; }
}

/// <summary>A container found on the engine, and what its labels say about it.</summary>
/// <param name="Instance">Where to reach it (the published ports of a running container).</param>
/// <param name="IsRunning">Whether it runs now.</param>
/// <param name="OwnerIsGone">Whether the emulator process that created it certainly no longer runs.</param>
/// <param name="StateId">The durable store it belongs to, if any.</param>
public sealed record RuntimeContainer(
    RuntimeInstance Instance,
    bool IsRunning,
    bool OwnerIsGone,
    string? StateId,
    Guid? FunctionId,
    Guid? VersionId,
    Guid? DeploymentId,
    Guid? InstanceId,
    Guid? GpuSpecificationId);

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
