using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// The emulator as an image (<c>nvcf-emulator:local</c>, built by <c>eng/setup.sh</c>), run with the line the README
/// documents: on the host's network, driving the host's engine through its socket, with the work directory mounted
/// at the same path.
/// </summary>
[Collection(DockerCollection.Name)]
public class EmulatorImageTests(DockerFixture docker, ITestOutputHelper output)
{
    public const string Image = "nvcf-emulator:local";

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task TheDocumentedLineServesTheAbFlowAndLeavesNothingWhenStopped()
    {
        await using var emulator = await EmulatorContainer.StartAsync(docker.Docker, output);
        var http = emulator.Http;

        var echo = new { name = "echo-image-ab", inferenceUrl = "/echo", inferencePort = 8000, containerImage = DockerFixture.EchoImage };
        var v1 = await http.CreateFunctionAsync(echo);
        var v2 = await http.CreateFunctionAsync(echo, v1.Id());
        await http.DeployAsync(v1);
        await http.DeployAsync(v2);
        await http.WaitForStatusAsync(v1, Timeout, "ACTIVE");
        await http.WaitForStatusAsync(v2, Timeout, "ACTIVE");

        // Its instances are owned by a lease in the shared work directory, which the host sees at the same path, and
        // run on a network of the emulator's own although the emulator itself is on the host's.
        var instances = await docker.ContainersOfAsync(v1.Id());
        Assert.Equal(2, instances.Count);
        var networks = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in instances)
        {
            var lease = instance.Labels[ContainerLabels.Owner];
            Assert.StartsWith(Path.Combine(EmulatorContainer.WorkDirectory, OwnerLease.FolderName) + "/", lease, StringComparison.Ordinal);
            Assert.True(File.Exists(lease), $"The owner lease {lease} is not visible on the host.");
            networks.Add(Assert.Single(instance.NetworkSettings?.Networks?.Keys ?? []));
        }

        var network = Assert.Single(networks);
        Assert.StartsWith(DockerFunctionRuntime.NetworkPrefix, network, StringComparison.Ordinal);

        var answeredBy = await InvokeManyAsync(http, v1.Id(), 30);
        output.WriteLine($"By function ID: {string.Join(", ", answeredBy.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        Assert.Equal(new[] { v1.VersionId(), v2.VersionId() }.Order(), answeredBy.Keys.Order());

        await http.UndeployAsync(v1);
        Assert.Equal([v2.VersionId()], (await InvokeManyAsync(http, v1.Id(), 10)).Keys);

        var logs = await emulator.LogsAsync();
        Assert.DoesNotContain("is not mounted from the host", logs, StringComparison.Ordinal);
        Assert.Contains("GPU passthrough: ", logs, StringComparison.Ordinal); // probed in the container (without /dev/nvidia*: CPU mode)
        Assert.DoesNotContain("fail: ", logs, StringComparison.Ordinal);
        await emulator.StopAsync();
        Assert.Empty(await docker.ContainersOfAsync(v1.Id()));
        await Assert.ThrowsAsync<DockerNetworkNotFoundException>(() => docker.Docker.Networks.InspectNetworkAsync(network));
    }

    [Fact]
    public async Task AnEmulatorInTheImageLeavesAliveTheContainersOfAHostProcessItCannotSee()
    {
        // Labelled the way emulators before owner leases labelled theirs (host/pid/start), by this live test process: an
        // emulator in a container shares the host's name on its network but not its PIDs, so it cannot judge this owner.
        var hostOwned = await docker.CreateSleeperAsync(new() { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = EmulatorProcess.Current.ToString() });
        try
        {
            await using var emulator = await EmulatorContainer.StartAsync(docker.Docker, output);
            await Eventually.TrueAsync(async () => (await emulator.LogsAsync()).Contains("Docker engine ready", StringComparison.Ordinal), Timeout);

            Assert.True(
                (await docker.Docker.Containers.InspectContainerAsync(hostOwned)).State?.Running,
                $"The emulator in the image removed a live host process's container:{Environment.NewLine}{await emulator.LogsAsync()}");
        }
        finally
        {
            try
            {
                await docker.Docker.Containers.RemoveContainerAsync(hostOwned, new ContainerRemoveParameters { Force = true });
            }
            catch (DockerContainerNotFoundException)
            {
            }
        }
    }

    [Fact]
    public async Task WithoutTheWorkDirectoryMountedItSaysWhichMountIsMissing()
    {
        await using var emulator = await EmulatorContainer.StartAsync(docker.Docker, output, mountWorkDirectory: false);

        Assert.Contains(
            $"its work directory {EmulatorContainer.WorkDirectory} is not mounted from the host", await emulator.LogsAsync(), StringComparison.Ordinal);
        Assert.Contains($"-v {EmulatorContainer.WorkDirectory}:{EmulatorContainer.WorkDirectory}", await emulator.LogsAsync(), StringComparison.Ordinal);
    }

    private static async Task<Dictionary<Guid, int>> InvokeManyAsync(HttpClient http, Guid functionId, int count)
    {
        var answeredBy = new Dictionary<Guid, int>();
        for (var i = 0; i < count; i++)
        {
            var body = $$"""{"request":{{i}}}""";
            using var response = await http.InvokeAsync(functionId, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
            var version = Guid.Parse(response.Header("X-Echo-Function-Version-Id"));
            answeredBy[version] = answeredBy.GetValueOrDefault(version) + 1;
        }

        return answeredBy;
    }

    /// <summary>The image run as the README says, under a name and on ports of its own; removed when disposed.</summary>
    private sealed class EmulatorContainer : IAsyncDisposable
    {
        public const string WorkDirectory = "/tmp/nvcf-emulator";

        private readonly ITestOutputHelper _output;
        private bool _removed;

        private EmulatorContainer(string name, Uri address, ITestOutputHelper output)
        {
            Name = name;
            _output = output;
            Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
            Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", EmulatorFactory.Token);
        }

        public string Name { get; }

        public HttpClient Http { get; }

        public static async Task<EmulatorContainer> StartAsync(DockerClient docker, ITestOutputHelper output, bool mountWorkDirectory = true)
        {
            try
            {
                await docker.Images.InspectImageAsync(Image);
            }
            catch (DockerImageNotFoundException)
            {
                throw new InvalidOperationException($"The emulator image {Image} is missing. Run eng/setup.sh, which builds it (eng/build-emulator-image.sh builds it alone).");
            }

            var name = $"nvcf-emulator-test-{Guid.NewGuid():N}"[..32];
            var address = new Uri($"http://127.0.0.1:{FreePort()}");
            string[] workDirectory = mountWorkDirectory ? ["-v", $"{WorkDirectory}:{WorkDirectory}"] : [];
            await Command.RunAsync("docker",
            [
                "run", "-d", "--name", name, "--network", "host", "-v", "/var/run/docker.sock:/var/run/docker.sock", .. workDirectory,
                Image, "--urls", address.ToString().TrimEnd('/'), "--Emulator:GrpcUrl=http://127.0.0.1:0",
            ]);
            var emulator = new EmulatorContainer(name, address, output);
            try
            {
                await Eventually.TrueAsync(async () =>
                {
                    try
                    {
                        using var health = await emulator.Http.GetAsync("/health");
                        return health.StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                }, Timeout);
            }
            catch
            {
                output.WriteLine(await emulator.LogsAsync());
                await emulator.DisposeAsync();
                throw;
            }

            return emulator;
        }

        public async Task<string> LogsAsync() => await Command.OutputAsync("docker", ["logs", Name]);

        /// <summary>Stops it as <c>docker stop</c> does (SIGTERM), with time to remove its instances.</summary>
        public async Task StopAsync()
        {
            await Command.RunAsync("docker", ["stop", "--time", "60", Name]);
            _output.WriteLine(await LogsAsync());
            await Command.RunAsync("docker", ["rm", Name]);
            _removed = true;
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_removed)
            {
                _output.WriteLine(await LogsAsync());
                await Command.RunAsync("docker", ["rm", "--force", Name]);
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
