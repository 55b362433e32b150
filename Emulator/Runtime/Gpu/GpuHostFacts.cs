namespace Nvcf.Emulator.Runtime.Gpu;

/// <summary>What the host and its container engine offer for GPUs: the input of <see cref="GpuPassthrough.Select"/>.</summary>
public sealed record GpuHostFacts
{
    /// <summary>The GPUs the driver reports, in bus order.</summary>
    public IReadOnlyList<HostGpu> Gpus { get; init; } = [];

    /// <summary>Whether the engine lists NVIDIA's runtime (<c>docker info</c>: Runtimes).</summary>
    public bool EngineHasNvidiaRuntime { get; init; }

    /// <summary>The engine's NVIDIA CDI devices, e.g. <c>nvidia.com/gpu=0</c>, <c>nvidia.com/gpu=all</c>.</summary>
    public IReadOnlyList<string> CdiDevices { get; init; } = [];

    /// <summary>Device nodes on the host: one per GPU (<c>/dev/nvidia0</c>) and the shared ones (<c>/dev/nvidiactl</c>…).</summary>
    public IReadOnlyList<string> DeviceNodes { get; init; } = [];

    /// <summary>The driver's user-space files found on the host (libraries, <c>nvidia-smi</c>).</summary>
    public IReadOnlyList<DriverFile> DriverFiles { get; init; } = [];

    /// <summary>Why the engine's side is unknown (it could not be asked), or null.</summary>
    public string? EngineError { get; init; }
}

/// <summary>A file of the driver to bind read-only into containers.</summary>
/// <param name="HostPath">Where it is on the host (symbolic links are followed by the bind).</param>
/// <param name="ContainerPath">Where the container sees it.</param>
public sealed record DriverFile(string HostPath, string ContainerPath)
{
    public bool IsCudaDriver => Path.GetFileName(ContainerPath).StartsWith("libcuda.so", StringComparison.Ordinal);
}
