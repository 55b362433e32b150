using System.Net;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// GPU passthrough on the real engine, on a machine without a GPU: the CPU fallback, a start the engine refuses, and
/// raw device mode with stand-in device nodes and driver files (what the container sees is the same as with real ones).
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class GpuPassthroughOnTheEngineTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task WithoutAGpuTheFunctionRunsOnTheCpuAndTheDeploymentSaysSo()
    {
        await using var emulator = OnAHostWithoutGpus();
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new { name = "on-cpu", inferenceUrl = "/cgi-bin/gpu", containerImage = DockerFixture.CgiImage });

        await http.DeployAsync(function, gpu: "H100", instanceType: "local.GPU.H100_1x");
        var deployment = await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        Assert.Equal(
            "asked H100 × 1 per instance (local.GPU.H100_1x); host has no NVIDIA GPU; CPU mode (no GPU passed to containers); instances run on the CPU",
            (string?)deployment["deploymentSpecifications"]![0]!["placement"]);
        Assert.Equal("CPU (no GPU passed through)", (string?)(await InstancesAsync(http, function)).Single()!["gpus"]);
        using var response = await http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("device /dev/nvidia", seen, StringComparison.Ordinal);
        Assert.Contains("NVIDIA_VISIBLE_DEVICES=\n", seen, StringComparison.Ordinal);
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task WithoutAGpuARequiredGpuFailsTheDeploymentSayingWhyAndStartsNoContainer()
    {
        await using var emulator = OnAHostWithoutGpus(("Emulator:Gpu:Required", "true"));
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new { name = "gpu-required", inferenceUrl = "/cgi-bin/env", containerImage = DockerFixture.CgiImage });

        await http.DeployAsync(function, gpu: "H100", instanceType: "local.GPU.H100_1x");
        var failed = await http.WaitForStatusAsync(function, Timeout, "ERROR");

        Assert.StartsWith("A GPU is required (Emulator:Gpu:Required) but none was found", (string?)failed["healthInfo"]![0]!["error"], StringComparison.Ordinal);
        Assert.Contains("refused", (string?)failed["deploymentSpecifications"]![0]!["placement"], StringComparison.Ordinal);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task TheCudaSampleAnswersThroughTheEmulatorWithItsDeviceAndChecksum()
    {
        // Where eng/setup.sh found no nvcc (CI), the sample is its CPU build: same contract, same checksum.
        var function = await docker.Http.CreateFunctionAsync(new
        {
            name = "cuda-sample",
            inferenceUrl = "/v1/cuda",
            inferencePort = 8000,
            containerImage = DockerFixture.CudaImage,
            health = new { protocol = "HTTP", uri = "/health", port = 8000, timeout = "PT10S", expectedStatusCode = 200 },
        });
        await docker.Http.DeployAsync(function, gpu: "H100", instanceType: "local.GPU.H100_1x");
        await docker.Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var response = await docker.Http.InvokeAsync(function.Id(), """{"n":1000000}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.False(string.IsNullOrEmpty((string?)result["device"]));
        Assert.Equal(999_000_000L, (long?)result["checksum"]); // Σ 2·(i mod 1000) over 10⁶ elements
        Assert.True((bool?)result["ok"]);
        Assert.Equal(function.VersionId().ToString(), (string?)result["functionVersionId"]);
        await docker.Http.UndeployAsync(function);
    }

    [Fact]
    public async Task AStartTheEngineRefusesTurnsTheDeploymentToErrorWithItsCauseAndLeavesNoContainer()
    {
        // This engine has no NVIDIA runtime: asking for its device driver fails the container's start.
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?> { ["Emulator:Gpu:Mode"] = "NvidiaRuntime" });
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new { name = "no-nvidia-runtime", inferenceUrl = "/cgi-bin/env", containerImage = DockerFixture.CgiImage });

        await http.DeployAsync(function, gpu: "H100", instanceType: "local.GPU.H100_1x");
        var failed = await http.WaitForStatusAsync(function, Timeout, "ERROR");

        var error = (string?)failed["healthInfo"]![0]!["error"];
        Assert.Contains("could not be started", error, StringComparison.Ordinal);
        Assert.Contains("could not select device driver \"nvidia\"", error, StringComparison.Ordinal);
        Assert.Contains("NVIDIA runtime mode", (string?)failed["deploymentSpecifications"]![0]!["placement"], StringComparison.Ordinal);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task RawDeviceModeGivesEachInstanceTheDeviceNodesAndTheDriversLibrariesAndSaysWhenAGpuIsShared()
    {
        // Stand-ins for the host's GPU: device nodes with /dev/null's numbers, the driver's description, a libcuda.
        var host = Directory.CreateTempSubdirectory("nvcf-gpu-host").FullName;
        var dev = Directory.CreateDirectory(Path.Combine(host, "dev")).FullName;
        foreach (var node in (string[])["nvidia0", "nvidiactl", "nvidia-uvm"])
        {
            await Command.RunAsync("mknod", ["-m", "666", Path.Combine(dev, node), "c", "1", "3"]); // as root, as CI runs
        }

        var gpu = Directory.CreateDirectory(Path.Combine(host, "driver", "0000:18:00.0")).FullName;
        await File.WriteAllTextAsync(Path.Combine(gpu, "information"), "Model: \t\t NVIDIA H100 80GB HBM3\nGPU UUID: \t GPU-00000000-0000-4000-8000-000000000001\nDevice Minor: \t 0\n");
        var lib = Directory.CreateDirectory(Path.Combine(host, "lib")).FullName;
        await File.WriteAllTextAsync(Path.Combine(lib, "libcuda.so.1"), "stand-in libcuda");
        await File.WriteAllTextAsync(Path.Combine(lib, "libnvidia-ml.so.1"), "stand-in libnvidia-ml");

        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?>
        {
            ["Emulator:Gpu:DeviceFolder"] = dev,
            ["Emulator:Gpu:DriverFolder"] = Path.Combine(host, "driver"),
            ["Emulator:Gpu:LibraryFolders:0"] = lib,
        });
        using var http = emulator.CreateNvcfClient();
        var groups = JsonNode.Parse(await http.GetStringAsync("/v2/nvcf/clusterGroups"))!;
        var h100 = groups["clusterGroups"]![0]!["gpus"]![0]!;
        Assert.Equal("H100", (string?)h100["name"]);
        Assert.Equal("local.GPU.H100_1x", (string?)h100["instanceTypes"]![0]!["name"]);
        Assert.Contains("raw device mode", (string?)h100["instanceTypes"]![0]!["description"], StringComparison.Ordinal);

        var function = await http.CreateFunctionAsync(new { name = "raw-devices", inferenceUrl = "/cgi-bin/gpu", containerImage = DockerFixture.CgiImage });
        await http.DeployAsync(function, minInstances: 2, maxInstances: 2, gpu: "L40", instanceType: "gl40_1.br20_2xlarge");
        var deployment = await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        Assert.Equal(
            $"asked L40 × 1 per instance (gl40_1.br20_2xlarge); host has 1 × H100 (NVIDIA H100 80GB HBM3); raw device mode ({dev}/nvidia*, "
                + "2 driver file(s) bound read-only into /usr/local/nvidia/lib64); runs on H100 instead of L40",
            (string?)deployment["deploymentSpecifications"]![0]!["placement"]);
        var gpus = (await InstancesAsync(http, function)).Select(i => (string)i!["gpus"]!).ToList();
        Assert.Equal(2, gpus.Count);
        Assert.Single(gpus, g => g.StartsWith("GPU 0 (H100), raw device mode", StringComparison.Ordinal));
        Assert.Single(gpus, g => g.StartsWith("GPU 0 (H100) (shared), raw device mode", StringComparison.Ordinal));

        using var response = await http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = (await response.Content.ReadAsStringAsync()).Split('\n');
        Assert.Contains("device /dev/nvidia0", seen);
        Assert.Contains("device /dev/nvidiactl", seen);
        Assert.Contains("device /dev/nvidia-uvm", seen);
        Assert.Contains("library /usr/local/nvidia/lib64/libcuda.so.1 stand-in libcuda", seen);
        Assert.Contains("library /usr/local/nvidia/lib64/libnvidia-ml.so.1 stand-in libnvidia-ml", seen);
        Assert.Contains("LD_LIBRARY_PATH=/usr/local/nvidia/lib64", seen);
        Assert.Contains("NVIDIA_VISIBLE_DEVICES=0", seen);

        var labels = (await docker.ContainersOfAsync(function.Id())).Select(c => c.Labels[ContainerLabels.Gpus]);
        Assert.Equal(["0", "0"], labels);
        await http.UndeployAsync(function);
    }

    /// <summary>An emulator that finds no NVIDIA device nodes or driver, whatever this machine has.</summary>
    private static EmulatorFactory OnAHostWithoutGpus(params (string Key, string Value)[] settings)
    {
        var empty = Directory.CreateTempSubdirectory().FullName;
        var all = new Dictionary<string, string?> { ["Emulator:Gpu:DeviceFolder"] = empty, ["Emulator:Gpu:DriverFolder"] = empty };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return new EmulatorFactory(settings: all);
    }

    private static async Task<JsonArray> InstancesAsync(HttpClient http, JsonObject function)
    {
        var version = JsonNode.Parse(await http.GetStringAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}"))!;
        return version["function"]!["activeInstances"]!.AsArray();
    }
}
