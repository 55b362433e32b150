using System.Runtime.InteropServices;
using Docker.DotNet.Models;
using Nvcf.Emulator.Api;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.Runtime.Gpu;

namespace Nvcf.Emulator.Tests.Unit;

/// <summary>
/// How GPUs reach containers, against described hosts: which mode is chosen, what is said about it, which GPUs
/// each instance gets, and the Docker parameters that result.
/// </summary>
public class GpuPassthroughTests
{
    private static readonly HostGpu H100 = new(0, "NVIDIA H100 80GB HBM3", "H100", "0000:18:00.0", 0, "GPU-1d1f2c3b-0000-4000-8000-000000000001");

    /// <summary>The H100 machine of the project's environment notes: no NVIDIA runtime, no CDI, raw nodes, driver in /usr/local/nvidia/lib64.</summary>
    private static readonly GpuHostFacts H100WithoutToolkit = new()
    {
        Gpus = [H100],
        DeviceNodes = ["/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia0", "/dev/nvidiactl"],
        DriverFiles =
        [
            new("/usr/local/nvidia/lib64/libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1"),
            new("/usr/local/nvidia/lib64/libnvidia-ml.so.1", "/usr/local/nvidia/lib64/libnvidia-ml.so.1"),
            new("/usr/local/nvidia/lib64/libnvidia-ptxjitcompiler.so.1", "/usr/local/nvidia/lib64/libnvidia-ptxjitcompiler.so.1"),
            new("/usr/local/nvidia/lib64/libnvidia-gpucomp.so.580.65.06", "/usr/local/nvidia/lib64/libnvidia-gpucomp.so.580.65.06"),
        ],
    };

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", "H100")]
    [InlineData("NVIDIA H200", "H200")]
    [InlineData("NVIDIA A100-SXM4-80GB", "A100_80GB")]
    [InlineData("NVIDIA A100-PCIE-40GB", "A100")]
    [InlineData("NVIDIA L40S", "L40S")]
    [InlineData("Tesla T4", "T4")]
    [InlineData("NVIDIA RTX A6000", "RTX_A6000")]
    public void GpuModelsAreNamedAsNvcfSpellsThem(string model, string expected) =>
        Assert.Equal(expected, HostGpus.NvcfName(model));

    [Fact]
    public void GpusAreReadFromTheDriverInBusOrderWithTheirDeviceMinorAndUuid()
    {
        var driver = Directory.CreateTempSubdirectory();
        WriteInformation(driver, "0000:b8:00.0", "NVIDIA H100 80GB HBM3", minor: 0, "GPU-bbbb");
        WriteInformation(driver, "0000:18:00.0", "NVIDIA H100 80GB HBM3", minor: 3, "GPU-aaaa");

        var gpus = HostGpus.Detect(driver.FullName);

        Assert.Equal(["0000:18:00.0", "0000:b8:00.0"], gpus.Select(g => g.BusId));
        Assert.Equal([0, 1], gpus.Select(g => g.Index));
        Assert.Equal([3, 0], gpus.Select(g => g.Minor));
        Assert.Equal(["GPU-aaaa", "GPU-bbbb"], gpus.Select(g => g.Uuid));
        Assert.All(gpus, g => Assert.Equal("H100", g.Name));
        Assert.Empty(HostGpus.Detect(Path.Combine(driver.FullName, "missing")));
    }

    [Theory]
    [InlineData("local.GPU.H100_1x", 1)]
    [InlineData("NCP.GPU.H100_2x", 2)]
    [InlineData("NCP.GPU.A10G_8x", 8)]
    [InlineData("BM.GPU.A100-v2.8", 8)]
    [InlineData("gl40_1.br20_2xlarge", 1)]
    [InlineData("ga10g_4.br20_2xlarge", 4)]
    [InlineData("g6.full", 1)]
    [InlineData("anything", 1)]
    public void TheInstanceTypeSaysHowManyGpusEachInstanceGets(string instanceType, int expected) =>
        Assert.Equal(expected, InstanceTypes.GpuCount(instanceType));

    [Fact]
    public void AnEngineWithTheNvidiaRuntimeIsPreferred()
    {
        var gpu = GpuPassthrough.Select(H100WithoutToolkit with { EngineHasNvidiaRuntime = true, CdiDevices = ["nvidia.com/gpu=0"] }, new GpuOptions());

        Assert.Equal(GpuMode.NvidiaRuntime, gpu.Mode);
        Assert.Empty(gpu.Warnings);
        Assert.Empty(gpu.DriverFiles); // the runtime brings the driver's libraries itself
    }

    [Fact]
    public void CdiDevicesAreUsedWhenTheEngineHasNoNvidiaRuntime()
    {
        var gpu = GpuPassthrough.Select(H100WithoutToolkit with { CdiDevices = ["nvidia.com/gpu=0", "nvidia.com/gpu=all", "vendor.com/fpga=0"] }, new GpuOptions());

        Assert.Equal(GpuMode.Cdi, gpu.Mode);
        Assert.Equal(["nvidia.com/gpu=0", "nvidia.com/gpu=all"], gpu.CdiDevices);
    }

    [Fact]
    public void RawDevicesWithTheDriversLibrariesWhenTheEngineOffersNeither()
    {
        var gpu = GpuPassthrough.Select(H100WithoutToolkit, new GpuOptions());

        Assert.Equal(GpuMode.Devices, gpu.Mode);
        Assert.Equal(["/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidiactl"], gpu.SharedDeviceNodes);
        Assert.Equal(4, gpu.DriverFiles.Count);
        Assert.Empty(gpu.Warnings);
        Assert.Equal(
            "GPU passthrough: raw device mode (/dev/nvidia*, 4 driver file(s) bound read-only into /usr/local/nvidia/lib64); host has 1 × H100 (NVIDIA H100 80GB HBM3)",
            gpu.Summary);
    }

    [Fact]
    public void RawDevicesWithoutLibcudaAreUsedWithAWarning()
    {
        var gpu = GpuPassthrough.Select(H100WithoutToolkit with { DriverFiles = [] }, new GpuOptions());

        Assert.Equal(GpuMode.Devices, gpu.Mode);
        Assert.Contains("No libcuda.so was found", Assert.Single(gpu.Warnings), StringComparison.Ordinal);
        Assert.Contains("no libcuda found", gpu.ModeDescription, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAGpuInstancesRunOnTheCpuWithAWarning()
    {
        var gpu = GpuPassthrough.Select(new GpuHostFacts(), new GpuOptions());

        Assert.Equal(GpuMode.None, gpu.Mode);
        Assert.Null(gpu.Refusal);
        Assert.Contains("function containers run on the CPU", Assert.Single(gpu.Warnings), StringComparison.Ordinal);
        Assert.Equal("GPU passthrough: CPU mode (no GPU passed to containers); host has no NVIDIA GPU", gpu.Summary);
    }

    [Fact]
    public void WithoutAGpuInstancesAreRefusedWhenAGpuIsRequired()
    {
        var gpu = GpuPassthrough.Select(new GpuHostFacts(), new GpuOptions { Required = true });

        Assert.Equal(GpuMode.None, gpu.Mode);
        Assert.StartsWith("A GPU is required (Emulator:Gpu:Required) but none was found", gpu.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfiguredModeWinsOverDetectionAndIsWarnedAboutWhenTheHostLacksIt()
    {
        var off = GpuPassthrough.Select(H100WithoutToolkit, new GpuOptions { Mode = GpuMode.None });
        var forced = GpuPassthrough.Select(H100WithoutToolkit, new GpuOptions { Mode = GpuMode.NvidiaRuntime });

        Assert.Equal(GpuMode.None, off.Mode);
        Assert.Empty(off.Gpus);
        Assert.Contains("GPU passthrough is off (set by Emulator:Gpu:Mode)", Assert.Single(off.Warnings), StringComparison.Ordinal);
        Assert.Equal(GpuMode.NvidiaRuntime, forced.Mode);
        Assert.Contains("The engine does not list the NVIDIA runtime", Assert.Single(forced.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void EachDeploymentSaysWhatItAskedAndWhatItGets()
    {
        var devices = GpuPassthrough.Select(H100WithoutToolkit, new GpuOptions());
        var cpu = GpuPassthrough.Select(new GpuHostFacts(), new GpuOptions());

        Assert.Equal(
            "asked L40 × 1 per instance (gl40_1.br20_2xlarge); host has 1 × H100 (NVIDIA H100 80GB HBM3); "
                + "raw device mode (/dev/nvidia*, 4 driver file(s) bound read-only into /usr/local/nvidia/lib64); runs on H100 instead of L40",
            devices.Describe(Specification("L40", "gl40_1.br20_2xlarge")));
        Assert.EndsWith("each instance gets all 1 GPU(s)", devices.Describe(Specification("H100", "NCP.GPU.H100_2x")), StringComparison.Ordinal);
        Assert.Equal(
            "asked H100 × 1 per instance (local.GPU.H100_1x); host has no NVIDIA GPU; CPU mode (no GPU passed to containers); instances run on the CPU",
            cpu.Describe(Specification("H100", "local.GPU.H100_1x")));
    }

    [Fact]
    public void ClusterGroupsListTheHostsGpusAsNvcfNamesThemWithTheMode()
    {
        var gpu = GpuPassthrough.Select(H100WithoutToolkit with { Gpus = [H100, H100 with { Index = 1, Minor = 1 }] }, new GpuOptions());

        var described = Assert.Single(ClusterGroupsApi.Describe(gpu, "nca").ClusterGroups[0].Gpus);

        Assert.Equal("H100", described.Name);
        Assert.Equal(["local.GPU.H100_1x", "local.GPU.H100_2x"], described.InstanceTypes.Select(t => t.Name));
        Assert.StartsWith("2 x NVIDIA H100 80GB HBM3 on this host, raw device mode", described.InstanceTypes[1].Description, StringComparison.Ordinal);
        Assert.Empty(ClusterGroupsApi.Describe(GpuPassthrough.Select(new GpuHostFacts(), new GpuOptions()), "nca").ClusterGroups[0].Gpus);
    }

    [Fact]
    public void InstancesGetDistinctGpusUntilTheyMustShare()
    {
        var gpus = new[] { H100, H100 with { Index = 1, Minor = 1 } };
        var allocator = new GpuAllocator();

        var first = allocator.Allocate("a", 1, gpus);
        var second = allocator.Allocate("b", 1, gpus);
        var third = allocator.Allocate("c", 1, gpus);

        Assert.Equal("0", first.Indices);
        Assert.Equal("1", second.Indices);
        Assert.False(first.Shared || second.Shared);
        Assert.True(third.Shared);
        Assert.Equal("GPU 0 (H100) (shared)", third.ToString());

        allocator.Release("b");
        Assert.Equal("1", allocator.Allocate("d", 1, gpus).Indices);
        Assert.Equal("0,1", allocator.Allocate("e", 4, gpus).Indices); // asks for more than there are: gets all
        Assert.Same(GpuAssignment.None, allocator.Allocate("f", 1, []));
    }

    [Fact]
    public void AnAdoptedInstanceKeepsItsGpus()
    {
        var gpus = new[] { H100, H100 with { Index = 1, Minor = 1 } };
        var allocator = new GpuAllocator();
        allocator.Claim("adopted", GpuAssignment.ParseIndices("0"));

        Assert.Equal("1", allocator.Allocate("new", 1, gpus).Indices);
    }

    [Fact]
    public void NvidiaRuntimeModeAsksTheEngineForTheAssignedGpuByUuid()
    {
        var parameters = Parameters();
        var gpu = GpuPassthrough.Select(H100WithoutToolkit with { EngineHasNvidiaRuntime = true }, new GpuOptions());

        DockerGpu.Apply(parameters, gpu, new GpuAssignment([H100], false), imageEnvironment: null);

        var request = Assert.Single(parameters.HostConfig!.DeviceRequests);
        Assert.Equal("nvidia", request.Driver);
        Assert.Equal([H100.Uuid!], request.DeviceIDs);
        Assert.Equal(["gpu"], Assert.Single(request.Capabilities));
        Assert.Null(parameters.HostConfig.Devices);
    }

    [Fact]
    public void CdiModeAsksForTheCdiDeviceOfTheAssignedGpu()
    {
        var parameters = Parameters();
        var second = H100 with { Index = 1, Minor = 1, Uuid = null };
        var gpu = GpuPassthrough.Select(H100WithoutToolkit with { Gpus = [H100, second], CdiDevices = ["nvidia.com/gpu=0", "nvidia.com/gpu=1"] }, new GpuOptions());

        DockerGpu.Apply(parameters, gpu, new GpuAssignment([second], false), imageEnvironment: null);

        var request = Assert.Single(parameters.HostConfig!.DeviceRequests);
        Assert.Equal("cdi", request.Driver);
        Assert.Equal(["nvidia.com/gpu=1"], request.DeviceIDs);
    }

    [Fact]
    public void RawDeviceModeBindsTheNodesAndTheDriversLibrariesWhereTheLoaderFindsThem()
    {
        var parameters = Parameters();
        var gpu = GpuPassthrough.Select(H100WithoutToolkit, new GpuOptions());

        DockerGpu.Apply(parameters, gpu, new GpuAssignment([H100], false), imageEnvironment: ["PATH=/usr/bin", "LD_LIBRARY_PATH=/opt/app/lib"]);

        Assert.Equal(
            ["/dev/nvidia0", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidiactl"],
            parameters.HostConfig!.Devices.Select(d => d.PathInContainer));
        Assert.All(parameters.HostConfig.Devices, d => Assert.Equal("rwm", d.CgroupPermissions));
        Assert.Contains("/usr/local/nvidia/lib64/libcuda.so.1:/usr/local/nvidia/lib64/libcuda.so.1:ro", parameters.HostConfig.Binds);
        Assert.Contains("/work/inputs:/var/inf/inputAssets", parameters.HostConfig.Binds);
        Assert.Contains("LD_LIBRARY_PATH=/opt/app/lib:/usr/local/nvidia/lib64", parameters.Env);
        Assert.Contains("NVIDIA_VISIBLE_DEVICES=0", parameters.Env);
    }

    [Fact]
    public void RawDeviceModeLeavesALibraryPathThatAlreadyReachesTheDriverAndExtendsTheFunctionsOwn()
    {
        var gpu = GpuPassthrough.Select(H100WithoutToolkit, new GpuOptions());
        var cudaImage = Parameters();
        var ownPath = Parameters("LD_LIBRARY_PATH=/models/lib");

        DockerGpu.Apply(cudaImage, gpu, new GpuAssignment([H100], false), ["LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64"]);
        DockerGpu.Apply(ownPath, gpu, new GpuAssignment([H100], false), ["LD_LIBRARY_PATH=/usr/local/nvidia/lib64"]);

        Assert.DoesNotContain(cudaImage.Env, e => e.StartsWith("LD_LIBRARY_PATH=", StringComparison.Ordinal));
        Assert.Equal("LD_LIBRARY_PATH=/models/lib:/usr/local/nvidia/lib64", Assert.Single(ownPath.Env, e => e.StartsWith("LD_LIBRARY_PATH=", StringComparison.Ordinal)));
    }

    [Fact]
    public void CpuModeChangesNothing()
    {
        var parameters = Parameters();

        DockerGpu.Apply(parameters, GpuPassthrough.Select(new GpuHostFacts(), new GpuOptions()), GpuAssignment.None, imageEnvironment: null);

        Assert.Null(parameters.HostConfig!.DeviceRequests);
        Assert.Null(parameters.HostConfig.Devices);
        Assert.Equal(2, parameters.HostConfig!.Binds.Count);
    }

    [Fact]
    public void TheDriversLibrariesAreFoundByNameInTheConfiguredFoldersAndTheLoaderCache()
    {
        var folder = Directory.CreateTempSubdirectory();
        foreach (var name in (string[])["libcuda.so.1", "libcuda.so.580.65.06", "libnvidia-ml.so.1", "libcudart.so.12", "libfoo.so", "libnvidia-mlx.so"])
        {
            File.WriteAllText(Path.Combine(folder.FullName, name), name);
        }

        var elsewhere = Directory.CreateTempSubdirectory();
        File.WriteAllText(Path.Combine(elsewhere.FullName, "libnvidia-ptxjitcompiler.so.1"), "jit");
        var options = new GpuOptions();
        options.LibraryFolders.Add(folder.FullName);

        var files = GpuHostProbe.FindDriverFiles(options, [Path.Combine(elsewhere.FullName, "libnvidia-ptxjitcompiler.so.1")]);
        var libraries = files.Where(f => f.ContainerPath.StartsWith("/usr/local/nvidia/lib64/", StringComparison.Ordinal)).ToList();

        Assert.Equal(
            ["libcuda.so.1", "libcuda.so.580.65.06", "libnvidia-ml.so.1", "libnvidia-ptxjitcompiler.so.1"],
            libraries.Where(f => f.HostPath.StartsWith(folder.FullName, StringComparison.Ordinal) || f.HostPath.StartsWith(elsewhere.FullName, StringComparison.Ordinal))
                .Select(f => Path.GetFileName(f.ContainerPath)));
    }

    [Fact]
    public void TheLoaderCacheIsReadForThisArchitectureOnly()
    {
        const string Output = """
            4 libs found in cache `/etc/ld.so.cache'
            	libnvidia-ml.so.1 (libc6,x86-64) => /usr/local/nvidia/lib64/libnvidia-ml.so.1
            	libcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1
            	libcuda.so.1 (libc6) => /usr/lib/i386-linux-gnu/libcuda.so.1
            	libcuda.so.1 (libc6,AArch64) => /usr/lib/aarch64-linux-gnu/libcuda.so.1
            """;

        Assert.Equal(
            ["/usr/local/nvidia/lib64/libnvidia-ml.so.1", "/usr/lib/x86_64-linux-gnu/libcuda.so.1"],
            GpuHostProbe.ParseLoaderCache(Output, Architecture.X64));
        Assert.Equal(["/usr/lib/aarch64-linux-gnu/libcuda.so.1"], GpuHostProbe.ParseLoaderCache(Output, Architecture.Arm64));
    }

    [Fact]
    public void DeviceNodesAreFoundByName()
    {
        var dev = Directory.CreateTempSubdirectory();
        foreach (var name in (string[])["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-caps", "nvme0", "null"])
        {
            File.WriteAllText(Path.Combine(dev.FullName, name), string.Empty);
        }

        Assert.Equal(
            ["nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidia1", "nvidiactl"],
            GpuHostProbe.FindDeviceNodes(dev.FullName).Select(Path.GetFileName));
    }

    [Fact]
    public void CdiSpecsAreReadInYamlAndJson()
    {
        const string Yaml = """
            cdiVersion: 0.5.0
            kind: nvidia.com/gpu
            devices:
            - name: "0"
              containerEdits:
                deviceNodes:
                - path: /dev/nvidia0
            - name: GPU-1d1f2c3b
            - name: all
            containerEdits:
              hooks:
              - hookName: createContainer
                path: /usr/bin/nvidia-cdi-hook
            """;
        const string Json = """{"cdiVersion":"0.6.0","kind":"nvidia.com/gpu","devices":[{"name":"0","containerEdits":{}},{"name":"all"}],"containerEdits":{"hooks":[{"hookName":"x"}]}}""";

        Assert.Equal(["0", "GPU-1d1f2c3b", "all"], CdiSpec.DeviceNames(Yaml, "nvidia.com/gpu"));
        Assert.Equal(["0", "all"], CdiSpec.DeviceNames(Json, "nvidia.com/gpu"));
        Assert.Empty(CdiSpec.DeviceNames(Yaml.Replace("nvidia.com/gpu", "vendor.com/fpga", StringComparison.Ordinal), "nvidia.com/gpu"));
    }

    private static GpuSpecification Specification(string gpu, string instanceType) => new()
    {
        GpuSpecificationId = Guid.NewGuid(),
        Gpu = gpu,
        InstanceType = instanceType,
        MinInstances = 1,
        MaxInstances = 1,
    };

    private static CreateContainerParameters Parameters(params string[] environment) => new()
    {
        Env = [.. environment, "NVCF_FUNCTION_ID=x"],
        HostConfig = new HostConfig { Binds = ["/work/inputs:/var/inf/inputAssets", "/work/response:/var/inf/response"] },
    };

    private static void WriteInformation(DirectoryInfo driver, string busId, string model, int minor, string uuid)
    {
        var folder = Directory.CreateDirectory(Path.Combine(driver.FullName, busId));
        File.WriteAllText(
            Path.Combine(folder.FullName, "information"),
            $"Model: \t\t {model}\nIRQ:             42\nGPU UUID: \t {uuid}\nVideo BIOS: \t 96.00.99.00.01\nBus Type: \t PCIe\nDevice Minor: \t {minor}\nBus Location: \t {busId}\n");
    }
}
