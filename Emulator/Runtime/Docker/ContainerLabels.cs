namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>Labels on every container the emulator creates; the emulator never touches a container without them.</summary>
public static class ContainerLabels
{
    private const string Prefix = "com.nvidia.nvcf-emulator.";

    /// <summary>Present on every emulator container.</summary>
    public const string Managed = Prefix + "managed";

    /// <summary>
    /// The emulator process that created the container: the path of its <see cref="OwnerLease"/> file (before leases,
    /// <c>host/pid/start-ticks</c>, still judged the way those emulators did).
    /// </summary>
    public const string Owner = Prefix + "owner";

    public const string FunctionId = Prefix + "function-id";
    public const string FunctionName = Prefix + "function-name";
    public const string VersionId = Prefix + "function-version-id";
    public const string DeploymentId = Prefix + "deployment-id";
    public const string InstanceId = Prefix + "instance-id";
    public const string GpuSpecificationId = Prefix + "gpu-specification-id";

    /// <summary>The indices of the host GPUs the container was given, e.g. <c>0,1</c>; empty for none.</summary>
    public const string Gpus = Prefix + "gpus";

    /// <summary>What the container got, for people: e.g. <c>GPU 0 (H100), raw device mode (…)</c>.</summary>
    public const string GpuDescription = Prefix + "gpu";

    /// <summary>
    /// The durable store (Redis) whose deployment the container serves. Such containers outlive their emulator
    /// process: the next emulator on the same store adopts them, or removes them when their deployment is gone.
    /// </summary>
    public const string State = Prefix + "state";
}
