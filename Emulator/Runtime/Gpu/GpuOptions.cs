namespace Nvcf.Emulator.Runtime.Gpu;

/// <summary>How function containers get their GPUs (configuration section <c>Emulator:Gpu</c>).</summary>
public sealed class GpuOptions
{
    public const string SectionName = "Emulator:Gpu";

    /// <summary>The passthrough mode; <see cref="GpuMode.Auto"/> (the default) picks the first the host offers.</summary>
    public GpuMode Mode { get; set; } = GpuMode.Auto;

    /// <summary>Refuse to start instances when no GPU is found, instead of running them on the CPU with a warning.</summary>
    public bool Required { get; set; }

    /// <summary>Where the host's device nodes are (<c>nvidia0</c>, <c>nvidiactl</c>, <c>nvidia-uvm</c>…).</summary>
    public string DeviceFolder { get; set; } = "/dev";

    /// <summary>Where the driver describes each GPU (<c>{bus id}/information</c>).</summary>
    public string DriverFolder { get; set; } = "/proc/driver/nvidia/gpus";

    /// <summary>
    /// Folders searched first for the driver's user-space libraries (<c>libcuda.so.*</c>…); after them, the loader
    /// cache (<c>ldconfig -p</c>), then the usual library folders.
    /// </summary>
    public IList<string> LibraryFolders { get; } = [];

    /// <summary>
    /// Where raw device mode binds the driver's libraries in the container: the folder NVIDIA's CUDA images already
    /// search, and which is added to the container's <c>LD_LIBRARY_PATH</c> when missing there.
    /// </summary>
    public string ContainerLibraryFolder { get; set; } = "/usr/local/nvidia/lib64";
}

/// <summary>How a GPU reaches a container.</summary>
public enum GpuMode
{
    /// <summary>The first of the modes below that the host offers.</summary>
    Auto,

    /// <summary>The engine has NVIDIA's runtime: device requests with driver <c>nvidia</c> (what <c>docker run --gpus</c> does).</summary>
    NvidiaRuntime,

    /// <summary>The engine offers CDI devices (<c>nvidia.com/gpu=…</c>): device requests with driver <c>cdi</c>.</summary>
    Cdi,

    /// <summary>The host has <c>/dev/nvidia*</c>: the device nodes plus read-only binds of the driver's user-space libraries.</summary>
    Devices,

    /// <summary>No GPU: containers run on the CPU.</summary>
    None,
}
