using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Nvcf.Emulator.Runtime.Gpu;

/// <summary>Reads the host's side of <see cref="GpuHostFacts"/>: the driver's GPUs, device nodes and user-space files.</summary>
public static partial class GpuHostProbe
{
    /// <summary>The driver's libraries a CUDA program (and <c>nvidia-smi</c>) loads: what NVIDIA's toolkit mounts for "compute,utility".</summary>
    private static readonly string[] LibraryNames =
    [
        "libcuda.so", "libcudadebugger.so", "libnvidia-ml.so", "libnvidia-ptxjitcompiler.so", "libnvidia-gpucomp.so",
        "libnvidia-nvvm.so", "libnvidia-cfg.so", "libnvidia-allocator.so",
    ];

    private static readonly string[] ToolNames = ["nvidia-smi", "nvidia-debugdump"];

    /// <summary>Searched after the loader cache, for hosts whose cache does not list the driver.</summary>
    private static readonly string[] UsualLibraryFolders =
    [
        "/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
        "/usr/lib/wsl/lib",
    ];

    private static readonly string[] UsualToolFolders = ["/usr/bin", "/usr/local/nvidia/bin", "/usr/local/bin"];

    public static GpuHostFacts ReadHost(GpuOptions options)
    {
        var nodes = FindDeviceNodes(options.DeviceFolder);
        var gpus = HostGpus.Detect(options.DriverFolder);
        if (gpus.Count == 0)
        {
            // No driver information (e.g. inside a container given the devices): one GPU per /dev/nvidiaN.
            gpus = [.. nodes
                .Select(n => GpuNode().Match(Path.GetFileName(n)))
                .Where(m => m.Success)
                .Select(m => int.Parse(m.Groups["minor"].ValueSpan, CultureInfo.InvariantCulture))
                .Order()
                .Select((minor, index) => new HostGpu(index, "NVIDIA GPU", "GPU", string.Empty, minor))];
        }

        return new GpuHostFacts
        {
            Gpus = gpus,
            DeviceNodes = nodes,
            DriverFiles = gpus.Count > 0 ? FindDriverFiles(options, ReadLoaderCache()) : [],
        };
    }

    /// <summary><c>nvidia0</c>…, <c>nvidiactl</c>, <c>nvidia-uvm</c>, <c>nvidia-uvm-tools</c>, <c>nvidia-modeset</c> in <paramref name="folder"/>.</summary>
    public static IReadOnlyList<string> FindDeviceNodes(string folder) =>
        Directory.Exists(folder)
            ? [.. Directory.EnumerateFiles(folder, "nvidia*")
                .Where(path => DeviceNode().IsMatch(Path.GetFileName(path)))
                .Order(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// The driver's files, each once by file name: first from <see cref="GpuOptions.LibraryFolders"/>, then from the
    /// loader cache, then from the usual folders. Libraries go to <see cref="GpuOptions.ContainerLibraryFolder"/>,
    /// tools to <c>/usr/bin</c>.
    /// </summary>
    public static IReadOnlyList<DriverFile> FindDriverFiles(GpuOptions options, IReadOnlyList<string> loaderCache)
    {
        var found = new Dictionary<string, DriverFile>(StringComparer.Ordinal);
        void Add(string path, string containerFolder)
        {
            var name = Path.GetFileName(path);
            if (!found.ContainsKey(name) && File.Exists(path))
            {
                found[name] = new DriverFile(path, containerFolder + "/" + name);
            }
        }

        var libraryFolder = options.ContainerLibraryFolder.TrimEnd('/');
        var candidates = options.LibraryFolders.SelectMany(FilesIn)
            .Concat(loaderCache)
            .Concat(UsualLibraryFolders.SelectMany(FilesIn));
        foreach (var path in candidates.Where(IsDriverLibrary))
        {
            Add(path, libraryFolder);
        }

        var pathFolders = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var tool in ToolNames)
        {
            if (pathFolders.Concat(UsualToolFolders).Select(folder => Path.Combine(folder, tool)).FirstOrDefault(File.Exists) is { } path)
            {
                Add(path, "/usr/bin");
            }
        }

        return [.. found.Values.OrderBy(f => f.ContainerPath, StringComparer.Ordinal)];
    }

    /// <summary>The library paths of <c>ldconfig -p</c> for this process's architecture.</summary>
    public static IReadOnlyList<string> ParseLoaderCache(string output, Architecture architecture)
    {
        var tag = architecture switch
        {
            Architecture.X64 => "x86-64",
            Architecture.Arm64 => "AArch64",
            _ => null,
        };
        return [.. LoaderCacheLine().Matches(output)
            .Where(m => tag is null || m.Groups["flags"].Value.Contains(tag, StringComparison.Ordinal))
            .Select(m => m.Groups["path"].Value.Trim())];
    }

    private static bool IsDriverLibrary(string path)
    {
        var name = Path.GetFileName(path);
        return LibraryNames.Any(library => name == library || name.StartsWith(library + ".", StringComparison.Ordinal));
    }

    private static IEnumerable<string> FilesIn(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "lib*.so*") : [];

    private static IReadOnlyList<string> ReadLoaderCache()
    {
        foreach (var ldconfig in (string[])["/sbin/ldconfig", "/usr/sbin/ldconfig", "/usr/bin/ldconfig"])
        {
            if (!File.Exists(ldconfig))
            {
                continue;
            }

            try
            {
                using var process = Process.Start(new ProcessStartInfo(ldconfig, "-p") { RedirectStandardOutput = true, RedirectStandardError = true });
                if (process is null)
                {
                    return [];
                }

                var output = process.StandardOutput.ReadToEndAsync();
                if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
                {
                    process.Kill();
                    return [];
                }

                return ParseLoaderCache(output.Result, RuntimeInformation.ProcessArchitecture);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                return [];
            }
        }

        return [];
    }

    [GeneratedRegex(@"^nvidia(\d+|ctl|-uvm|-uvm-tools|-modeset)$")]
    private static partial Regex DeviceNode();

    [GeneratedRegex(@"^nvidia(?<minor>\d+)$")]
    private static partial Regex GpuNode();

    [GeneratedRegex(@"^\s+\S+\s+\((?<flags>[^)]*)\)\s+=>\s+(?<path>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex LoaderCacheLine();
}
