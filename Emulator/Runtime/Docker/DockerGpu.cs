using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Nvcf.Emulator.Runtime.Gpu;

namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>The Docker side of GPU passthrough: what the engine offers, and one GPU assignment as create parameters.</summary>
internal static class DockerGpu
{
    /// <summary>Adds the engine's facts (NVIDIA runtime, CDI devices) to the host's.</summary>
    public static async Task<GpuHostFacts> ReadEngineAsync(DockerClient client, GpuHostFacts host, CancellationToken cancellationToken)
    {
        SystemInfoResponse info;
        try
        {
            info = await client.System.GetSystemInfoAsync(cancellationToken);
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return host with { EngineError = e.Message };
        }

        var cdi = info.DiscoveredDevices?
            .Where(d => d.Source == "cdi" && d.ID is not null)
            .Select(d => d.ID)
            .ToList() ?? [];
        if (cdi.Count == 0)
        {
            cdi = [.. (info.CDISpecDirs ?? []).SelectMany(CdiDevicesIn)];
        }

        return host with
        {
            EngineHasNvidiaRuntime = info.Runtimes?.ContainsKey("nvidia") == true,
            CdiDevices = [.. cdi.Distinct(StringComparer.Ordinal)],
        };
    }

    /// <summary>
    /// Gives the container its GPUs the way <paramref name="passthrough"/> says; <paramref name="imageEnvironment"/>
    /// (the image's <c>ENV</c>) tells whether its <c>LD_LIBRARY_PATH</c> already reaches the bound driver libraries.
    /// </summary>
    public static void Apply(CreateContainerParameters parameters, GpuPassthrough passthrough, GpuAssignment assignment, IEnumerable<string>? imageEnvironment)
    {
        var host = parameters.HostConfig ??= new HostConfig();
        switch (passthrough.Mode)
        {
            case GpuMode.NvidiaRuntime:
                host.DeviceRequests =
                [
                    new DeviceRequest
                    {
                        Driver = "nvidia",
                        Count = assignment.Gpus.Count == 0 ? -1 : 0,
                        DeviceIDs = assignment.Gpus.Count == 0 ? null! : [.. assignment.Gpus.Select(g => g.Uuid ?? g.Index.ToString(CultureInfo.InvariantCulture))],
                        Capabilities = [["gpu"]],
                    },
                ];
                break;

            case GpuMode.Cdi:
                host.DeviceRequests =
                [
                    new DeviceRequest { Driver = "cdi", DeviceIDs = [.. CdiNames(passthrough, assignment)] },
                ];
                break;

            case GpuMode.Devices:
                host.Devices = [.. assignment.Gpus
                    .Select(g => Path.Combine(passthrough.DeviceFolder, "nvidia" + g.Minor.ToString(CultureInfo.InvariantCulture)))
                    .Concat(passthrough.SharedDeviceNodes)
                    .Select(node => new DeviceMapping { PathOnHost = node, PathInContainer = "/dev/" + Path.GetFileName(node), CgroupPermissions = "rwm" })];
                host.Binds = [.. host.Binds ?? [], .. passthrough.DriverFiles.Select(f => $"{f.HostPath}:{f.ContainerPath}:ro")];
                SetLibraryPath(parameters, passthrough.ContainerLibraryFolder, imageEnvironment);
                parameters.Env.Add("NVIDIA_VISIBLE_DEVICES=" + string.Join(',', assignment.Gpus.Select(g => g.Index.ToString(CultureInfo.InvariantCulture))));
                break;
        }
    }

    /// <summary>The assigned GPUs by UUID or index, whichever names the CDI spec has; all GPUs when none is assigned.</summary>
    private static IEnumerable<string> CdiNames(GpuPassthrough passthrough, GpuAssignment assignment)
    {
        const string Kind = "nvidia.com/gpu=";
        if (assignment.Gpus.Count == 0)
        {
            yield return passthrough.CdiDevices.Contains(Kind + "all") ? Kind + "all" : passthrough.CdiDevices.Count > 0 ? passthrough.CdiDevices[0] : Kind + "all";
            yield break;
        }

        foreach (var gpu in assignment.Gpus)
        {
            var byUuid = gpu.Uuid is null ? null : Kind + gpu.Uuid;
            yield return byUuid is not null && passthrough.CdiDevices.Contains(byUuid)
                ? byUuid
                : Kind + gpu.Index.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Appends the driver's library folder to the container's <c>LD_LIBRARY_PATH</c> (the function's own value, else the image's) unless it is there.</summary>
    private static void SetLibraryPath(CreateContainerParameters parameters, string folder, IEnumerable<string>? imageEnvironment)
    {
        const string Name = "LD_LIBRARY_PATH=";
        var own = parameters.Env.FirstOrDefault(e => e.StartsWith(Name, StringComparison.Ordinal));
        var current = (own ?? imageEnvironment?.FirstOrDefault(e => e.StartsWith(Name, StringComparison.Ordinal)))?[Name.Length..] ?? string.Empty;
        if (current.Split(':').Any(f => f.TrimEnd('/') == folder))
        {
            return;
        }

        if (own is not null)
        {
            parameters.Env.Remove(own);
        }

        parameters.Env.Add(Name + (current.Length == 0 ? folder : current + ":" + folder));
    }

    /// <summary>The <c>nvidia.com/gpu</c> device names in a CDI spec folder's files (YAML or JSON).</summary>
    private static IEnumerable<string> CdiDevicesIn(string folder)
    {
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (var file in Directory.EnumerateFiles(folder).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var name in CdiSpec.DeviceNames(text, "nvidia.com/gpu"))
            {
                yield return "nvidia.com/gpu=" + name;
            }
        }
    }
}
