using System.Globalization;
using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Runtime.Gpu;

/// <summary>
/// How this emulator passes GPUs to function containers: the mode chosen from what the host offers
/// (<see cref="Select"/>), the GPUs, and what to tell the user about it.
/// </summary>
public sealed record GpuPassthrough
{
    /// <summary>The mode in use (never <see cref="GpuMode.Auto"/>).</summary>
    public required GpuMode Mode { get; init; }

    /// <summary>The GPUs instances are given, in bus order; empty when the engine decides (or there are none).</summary>
    public IReadOnlyList<HostGpu> Gpus { get; init; } = [];

    /// <summary>CDI device names for <see cref="GpuMode.Cdi"/>.</summary>
    public IReadOnlyList<string> CdiDevices { get; init; } = [];

    /// <summary>For <see cref="GpuMode.Devices"/>: the nodes every instance gets (<c>nvidiactl</c>, <c>nvidia-uvm</c>…).</summary>
    public IReadOnlyList<string> SharedDeviceNodes { get; init; } = [];

    /// <summary>For <see cref="GpuMode.Devices"/>: the folder of the per-GPU nodes (<c>nvidia{minor}</c>).</summary>
    public string DeviceFolder { get; init; } = "/dev";

    /// <summary>For <see cref="GpuMode.Devices"/>: the driver's files bound read-only into each container.</summary>
    public IReadOnlyList<DriverFile> DriverFiles { get; init; } = [];

    /// <summary>For <see cref="GpuMode.Devices"/>: the container folder of the driver's libraries, for <c>LD_LIBRARY_PATH</c>.</summary>
    public string ContainerLibraryFolder { get; init; } = "/usr/local/nvidia/lib64";

    /// <summary>Set when instances must not start (a GPU is required and there is none): the cause, for the user.</summary>
    public string? Refusal { get; init; }

    /// <summary>What a user should know, e.g. that containers run on the CPU.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The mode in a few words, e.g. "raw device mode (/dev/nvidia*, 4 driver files bound read-only)".</summary>
    public string ModeDescription => Mode switch
    {
        GpuMode.NvidiaRuntime => "NVIDIA runtime mode (device requests, driver \"nvidia\")",
        GpuMode.Cdi => "CDI mode (device requests, driver \"cdi\")",
        GpuMode.Devices => string.Create(
            CultureInfo.InvariantCulture,
            $"raw device mode ({DeviceFolder.TrimEnd('/')}/nvidia*, {DriverFiles.Count} driver file(s) bound read-only{LibraryFolderNote})"),
        _ => "CPU mode (no GPU passed to containers)",
    };

    /// <summary>The host's GPUs in a few words, e.g. "1 × H100 (NVIDIA H100 80GB HBM3)".</summary>
    public string HostDescription => Gpus.Count == 0
        ? Mode is GpuMode.NvidiaRuntime or GpuMode.Cdi ? "the GPUs the engine has" : "no NVIDIA GPU"
        : string.Join(", ", Gpus.GroupBy(g => g.Model).Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Count()} × {g.First().Name} ({g.Key})")));

    /// <summary>One line for the logs: mode and GPUs.</summary>
    public string Summary => $"GPU passthrough: {ModeDescription}; host has {HostDescription}";

    private string LibraryFolderNote => DriverFiles.Any(f => f.IsCudaDriver) ? $" into {ContainerLibraryFolder}" : "; no libcuda found";

    /// <summary>
    /// Chooses the mode: the configured one, or with <see cref="GpuMode.Auto"/> the first the host offers, in this
    /// order: the engine's NVIDIA runtime, CDI devices, raw device nodes, none (CPU, or a refusal when a GPU is required).
    /// </summary>
    public static GpuPassthrough Select(GpuHostFacts host, GpuOptions options)
    {
        var gpuNodes = host.Gpus.Count > 0 && host.DeviceNodes.Any(n => n.EndsWith("/nvidiactl", StringComparison.Ordinal));
        var cdiGpus = host.CdiDevices.Where(d => d.StartsWith("nvidia.com/gpu=", StringComparison.Ordinal)).ToList();
        var mode = options.Mode != GpuMode.Auto ? options.Mode
            : host.EngineHasNvidiaRuntime ? GpuMode.NvidiaRuntime
            : cdiGpus.Count > 0 ? GpuMode.Cdi
            : gpuNodes ? GpuMode.Devices
            : GpuMode.None;

        var warnings = new List<string>();
        var configured = options.Mode == GpuMode.Auto ? string.Empty : $" (set by {GpuOptions.SectionName}:Mode)";
        switch (mode)
        {
            case GpuMode.NvidiaRuntime when !host.EngineHasNvidiaRuntime:
                warnings.Add($"The engine does not list the NVIDIA runtime, but NvidiaRuntime mode was configured{configured}: containers may fail to start.");
                break;
            case GpuMode.Cdi when cdiGpus.Count == 0:
                warnings.Add($"The engine lists no nvidia.com/gpu CDI devices, but Cdi mode was configured{configured}: containers may fail to start.");
                break;
            case GpuMode.Devices when !gpuNodes:
                warnings.Add($"No NVIDIA device nodes in {options.DeviceFolder}, but Devices mode was configured{configured}: containers get no GPU.");
                break;
            case GpuMode.Devices when !host.DriverFiles.Any(f => f.IsCudaDriver):
                warnings.Add("No libcuda.so was found on this host (loader cache, usual folders, Emulator:Gpu:LibraryFolders): containers get the GPU devices but must bring the driver's libraries themselves.");
                break;
            case GpuMode.None when options.Mode == GpuMode.None:
                warnings.Add($"GPU passthrough is off{configured}: function containers run on the CPU.");
                break;
            case GpuMode.None when !options.Required:
                warnings.Add("No NVIDIA GPU found (no NVIDIA runtime or CDI devices on the engine, no /dev/nvidia* on this host): function containers run on the CPU. Set Emulator:Gpu:Required=true to refuse instead.");
                break;
        }

        if (host.EngineError is not null && options.Mode == GpuMode.Auto)
        {
            warnings.Add($"The engine's GPU support could not be read ({host.EngineError}); only the host's device nodes were considered.");
        }

        return new GpuPassthrough
        {
            Mode = mode,
            Gpus = mode == GpuMode.None ? [] : host.Gpus,
            CdiDevices = cdiGpus,
            SharedDeviceNodes = mode == GpuMode.Devices ? [.. host.DeviceNodes.Where(n => !char.IsAsciiDigit(n[^1]))] : [],
            DeviceFolder = options.DeviceFolder,
            DriverFiles = mode == GpuMode.Devices ? host.DriverFiles : [],
            ContainerLibraryFolder = options.ContainerLibraryFolder.TrimEnd('/'),
            Refusal = mode == GpuMode.None && options.Required
                ? $"A GPU is required ({GpuOptions.SectionName}:Required) but none was found: the engine has no NVIDIA runtime or CDI devices and this host has no /dev/nvidia* devices."
                : null,
            Warnings = warnings,
        };
    }

    /// <summary>What one instance runs on, e.g. "GPU 0 (H100), raw device mode (…)" or "CPU (no GPU passed through)".</summary>
    public string Describe(GpuAssignment assignment) => Mode switch
    {
        GpuMode.None => "CPU (no GPU passed through)",
        _ when assignment.Gpus.Count == 0 => $"{HostDescription}, {ModeDescription}",
        _ => $"{assignment}, {ModeDescription}",
    };

    /// <summary>
    /// What a GPU specification asked for and what its instances get, e.g.
    /// "asked L40 × 1 per instance (gl40_1.br20_2xlarge); host has 1 × H100 (NVIDIA H100 80GB HBM3); raw device mode (…)".
    /// </summary>
    public string Describe(GpuSpecification specification)
    {
        var count = InstanceTypes.GpuCount(specification.InstanceType);
        var text = string.Create(
            CultureInfo.InvariantCulture,
            $"asked {specification.Gpu} × {count} per instance ({specification.InstanceType}); host has {HostDescription}; {ModeDescription}");
        if (Refusal is not null)
        {
            return $"{text}; refused: {Refusal}";
        }

        if (Mode == GpuMode.None)
        {
            return $"{text}; instances run on the CPU";
        }

        if (Gpus.Count > 0 && count > Gpus.Count)
        {
            text += string.Create(CultureInfo.InvariantCulture, $"; each instance gets all {Gpus.Count} GPU(s)");
        }

        if (Gpus.Count > 0 && !Gpus.Any(g => string.Equals(g.Name, specification.Gpu, StringComparison.OrdinalIgnoreCase)))
        {
            text += $"; runs on {Gpus[0].Name} instead of {specification.Gpu}";
        }

        return text;
    }
}
