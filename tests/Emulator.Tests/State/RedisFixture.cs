using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using StackExchange.Redis;

namespace Nvcf.Emulator.Tests.State;

/// <summary>
/// A real Redis (<c>redis:8.6</c>, the image Aspire asks for and <c>eng/setup.sh</c> builds offline) in a container
/// on a random port, for the test run. Never skips: without an engine or the image it fails and says what to run.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public const string Image = "redis:8.6";
    private const string TestLabel = "com.nvidia.nvcf-emulator.tests";

    private readonly DockerClient _docker = new DockerClientBuilder().Build();
    private string? _containerId;

    /// <summary>StackExchange.Redis connection string, e.g. <c>127.0.0.1:32768</c>.</summary>
    public string ConnectionString { get; private set; } = null!;

    public IConnectionMultiplexer Connection { get; private set; } = null!;

    /// <summary>The host port to publish Redis on; 0 (the default) picks a free one.</summary>
    public int HostPort { get; init; }

    /// <summary>Freezes Redis (<c>docker pause</c>): connections stay open and nothing answers.</summary>
    public Task PauseAsync() => _docker.Containers.PauseContainerAsync(_containerId!);

    public Task UnpauseAsync() => _docker.Containers.UnpauseContainerAsync(_containerId!);

    public async Task InitializeAsync()
    {
        try
        {
            await _docker.System.PingAsync();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"The Docker engine is not reachable ({e.Message}). Run eng/setup.sh, which installs and starts one.", e);
        }

        try
        {
            await _docker.Images.InspectImageAsync(Image);
        }
        catch (DockerImageNotFoundException)
        {
            throw new InvalidOperationException($"The image {Image} is missing. Run eng/setup.sh, which builds it.");
        }

        var created = await _docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = "nvcf-test-redis-" + Guid.NewGuid().ToString("N")[..8],
            Image = Image,
            Cmd = ["redis-server", "--protected-mode", "no", "--save", string.Empty, "--appendonly", "no"],
            Labels = new Dictionary<string, string> { [TestLabel] = "redis" },
            ExposedPorts = new Dictionary<string, EmptyStruct> { ["6379/tcp"] = default },
            HostConfig = new HostConfig
            {
                AutoRemove = false,
                PortBindings = new Dictionary<string, IList<PortBinding>>
                {
                    ["6379/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = HostPort == 0 ? string.Empty : HostPort.ToString(CultureInfo.InvariantCulture) }],
                },
            },
        });
        _containerId = created.ID;
        await _docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        var inspected = await _docker.Containers.InspectContainerAsync(created.ID);
        var port = int.Parse(inspected.NetworkSettings!.Ports["6379/tcp"][0].HostPort, CultureInfo.InvariantCulture);
        ConnectionString = $"127.0.0.1:{port}";

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                Connection = await ConnectionMultiplexer.ConnectAsync(ConnectionString + ",connectTimeout=2000");
                await Connection.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    public async Task DisposeAsync()
    {
        Connection?.Dispose();
        if (_containerId is not null)
        {
            await _docker.Containers.RemoveContainerAsync(_containerId, new ContainerRemoveParameters { Force = true });
        }

        _docker.Dispose();
    }
}
