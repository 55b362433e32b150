using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Nvcf.Emulator.Runtime.Docker;
using DockerRuntime = Nvcf.Emulator.Runtime.Docker.DockerFunctionRuntime;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>Every container the emulator creates has an owner that removes it, whatever the engine or the user does.</summary>
[Collection(DockerCollection.Name)]
public class ContainerOwnershipTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private HttpClient Http => docker.Http;

    [Fact]
    public async Task DeployThenUndeployInALoopLeavesNoContainerOfTheFunction()
    {
        var function = await Http.CreateFunctionAsync(new { name = "deploy-undeploy", inferenceUrl = "/cgi-bin/env", containerImage = DockerFixture.CgiImage });

        for (var i = 0; i < 20; i++)
        {
            await Http.DeployAsync(function);
            await Task.Delay(TimeSpan.FromMilliseconds(i % 10 * 60)); // before, during and after the create and the start
            await Http.UndeployAsync(function);
        }

        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        using var deleted = await Http.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
    }

    [Theory]
    [InlineData("--privileged")]
    [InlineData("")]
    [InlineData("Nvcf-Samples/Echo:latest")]
    [InlineData("nvcf-samples/echo:latest; rm -rf /")]
    public async Task AnImageReferenceTheEngineCannotParseIsRefusedAtTheApiNamingContainerImage(string image)
    {
        using var response = await Http.PostAsJsonAsync("/v2/nvcf/functions", new { name = "bad-image", inferenceUrl = "/echo", containerImage = image });

        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("field=containerImage", (string?)problem["detail"]);
    }

    [Fact]
    public async Task AnImageTheEngineRefusesTurnsTheDeploymentToErrorWithItsCauseAndCanBeDeletedAndStopped()
    {
        // Well-formed, but a sha256 digest of 32 hex digits: the engine refuses to even look it up.
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?>());
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new
        {
            name = "engine-refuses",
            inferenceUrl = "/echo",
            containerImage = "nvcf-test/refused@sha256:0123456789abcdef0123456789abcdef",
        });
        await http.DeployAsync(function);

        var failed = await http.WaitForStatusAsync(function, Timeout, "ERROR");

        Assert.Contains("invalid checksum digest length", (string?)failed["healthInfo"]![0]!["error"]);
        using var deleted = await http.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        await http.DeployAsync(await http.CreateFunctionAsync(new
        {
            name = "engine-refuses-at-shutdown",
            inferenceUrl = "/echo",
            containerImage = "nvcf-test/refused@sha256:0123456789abcdef0123456789abcdef",
        }));
        await emulator.DisposeAsync(); // a clean stop with a failed deployment still in place
    }

    [Fact]
    public async Task AnEmulatorStartingInAnotherPidNamespaceLeavesARunningEmulatorsContainersAlone()
    {
        var function = await Http.CreateFunctionAsync(new { name = "pid-namespace", inferenceUrl = "/cgi-bin/env", containerImage = DockerFixture.CgiImage });
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var running = Assert.Single(await docker.ContainersOfAsync(function.Id()));

        // The same binary and work directory, as in a dev container or CI job sharing the engine: its reaper runs
        // before it answers /health. There, this process's PID does not exist.
        var port = FreePort();
        using (var other = Process.Start(new ProcessStartInfo(
            "unshare",
            ["--pid", "--fork", "--mount-proc", "--kill-child", "dotnet", typeof(Program).Assembly.Location, "--urls", $"http://127.0.0.1:{port}", "--Emulator:GrpcUrl="])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!)
        {
            var output = new System.Text.StringBuilder();
            other.OutputDataReceived += (_, e) => output.AppendLine(e.Data);
            other.ErrorDataReceived += (_, e) => output.AppendLine(e.Data);
            other.BeginOutputReadLine();
            other.BeginErrorReadLine();
            try
            {
                using var health = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
                while (!await AnswersAsync(health))
                {
                    Assert.True(!other.HasExited && DateTime.UtcNow < deadline, $"The second emulator did not start: {output}");
                    await Task.Delay(200);
                }
            }
            finally
            {
                other.Kill(entireProcessTree: true);
                await other.WaitForExitAsync();
            }
        }

        var inspected = await docker.Docker.Containers.InspectContainerAsync(running.ID);
        Assert.True(inspected.State?.Running);
        using var response = await Http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task ContainersOfAStaleOwnerLeaseAreReapedAtStartAndThoseOfALiveOrUnknownOwnerAreNot()
    {
        var owners = Path.Combine(Path.GetTempPath(), "nvcf-emulator", OwnerLease.FolderName);
        Directory.CreateDirectory(owners);
        var staleLease = Path.Combine(owners, $"{Guid.NewGuid():N}.lease");
        var liveLease = Path.Combine(owners, $"{Guid.NewGuid():N}.lease");
        await File.WriteAllTextAsync(staleLease, "crashed emulator");
        await File.WriteAllTextAsync(liveLease, "running emulator");
        File.SetLastWriteTimeUtc(staleLease, DateTime.UtcNow - TimeSpan.FromMinutes(5));

        var stale = await docker.CreateSleeperAsync(new() { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = staleLease });
        var live = await docker.CreateSleeperAsync(new() { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = liveLease });
        var unseen = await docker.CreateSleeperAsync(new()
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.Owner] = $"/somewhere/this/emulator/cannot/see/{Guid.NewGuid():N}.lease",
        });
        var olderLive = await docker.CreateSleeperAsync(new() { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = EmulatorProcess.Current.ToString() });
        string[] kept = [live, unseen, olderLive];
        var staleNetwork = await CreateNetworkAsync(staleLease);
        var liveNetwork = await CreateNetworkAsync(liveLease);
        try
        {
            await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?>());
            using var http = emulator.CreateNvcfClient();
            using var _ = await http.GetAsync("/v2/nvcf/functions");

            await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => docker.Docker.Containers.InspectContainerAsync(stale));
            foreach (var id in kept)
            {
                Assert.True((await docker.Docker.Containers.InspectContainerAsync(id)).State?.Running);
            }

            // An empty network of the gone emulator goes too; one of a live emulator stays.
            await Assert.ThrowsAsync<DockerNetworkNotFoundException>(() => docker.Docker.Networks.InspectNetworkAsync(staleNetwork));
            Assert.Equal(liveNetwork, (await docker.Docker.Networks.InspectNetworkAsync(liveNetwork)).Name);

            Assert.False(File.Exists(staleLease)); // nothing names it any more
            Assert.True(File.Exists(liveLease));
        }
        finally
        {
            foreach (var network in new[] { staleNetwork, liveNetwork })
            {
                try
                {
                    await docker.Docker.Networks.DeleteNetworkAsync(network);
                }
                catch (DockerNetworkNotFoundException)
                {
                }
            }

            foreach (var id in kept.Append(stale))
            {
                try
                {
                    await docker.Docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
                }
                catch (DockerContainerNotFoundException)
                {
                }
            }

            File.Delete(liveLease);
        }
    }

    private async Task<string> CreateNetworkAsync(string ownerLease)
    {
        var name = DockerRuntime.NetworkPrefix + "test-" + Guid.NewGuid().ToString("N")[..8];
        await docker.Docker.Networks.CreateNetworkAsync(new NetworksCreateParameters
        {
            Name = name,
            Labels = new Dictionary<string, string> { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = ownerLease },
        });
        return name;
    }

    [Fact]
    public async Task InstancesLiveOnTheEmulatorsOwnNetworkWhereTheyCannotReachEachOtherAndItGoesWithTheLastOne()
    {
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?>());
        using var http = emulator.CreateNvcfClient();
        var first = await http.CreateFunctionAsync(new { name = "neighbour-a", inferenceUrl = "/cgi-bin/env", containerImage = DockerFixture.CgiImage });
        var second = await http.CreateFunctionAsync(new { name = "neighbour-b", inferenceUrl = "/cgi-bin/secrets", containerImage = DockerFixture.CgiImage });
        await http.DeployAsync(first);
        await http.DeployAsync(second);
        await http.WaitForStatusAsync(first, Timeout, "ACTIVE");
        await http.WaitForStatusAsync(second, Timeout, "ACTIVE");
        var a = await docker.Docker.Containers.InspectContainerAsync(Assert.Single(await docker.ContainersOfAsync(first.Id())).ID);
        var b = await docker.Docker.Containers.InspectContainerAsync(Assert.Single(await docker.ContainersOfAsync(second.Id())).ID);

        var (networkName, endpoint) = Assert.Single(b.NetworkSettings!.Networks);
        Assert.StartsWith(DockerRuntime.NetworkPrefix, networkName);
        Assert.Equal(networkName, Assert.Single(a.NetworkSettings!.Networks).Key);
        var network = await docker.Docker.Networks.InspectNetworkAsync(networkName);
        Assert.Equal("false", network.Options["com.docker.network.bridge.enable_icc"]);
        Assert.Equal("true", network.Labels[ContainerLabels.Managed]);

        // The neighbour's secrets are one request away on a shared bridge; here the request never gets through.
        var (exitCode, output) = await ExecAsync(a.ID, "wget", "-T", "3", "-q", "-O", "-", $"http://{endpoint.IPAddress}:8000/cgi-bin/secrets");
        Assert.True(exitCode != 0, $"neighbour-a reached neighbour-b: {output}");
        using var response = await http.InvokeAsync(second.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // while the emulator still reaches it

        await http.UndeployAsync(first);
        Assert.Equal(networkName, (await docker.Docker.Networks.InspectNetworkAsync(networkName)).Name); // b is still on it
        await http.UndeployAsync(second);
        await Assert.ThrowsAsync<DockerNetworkNotFoundException>(() => docker.Docker.Networks.InspectNetworkAsync(networkName));
    }

    private static async Task<(int ExitCode, string Output)> ExecAsync(string containerId, params string[] command)
    {
        using var process = Process.Start(new ProcessStartInfo("docker", ["exec", containerId, .. command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, (await output) + error);
    }

    private static async Task<bool> AnswersAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync("/health");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
