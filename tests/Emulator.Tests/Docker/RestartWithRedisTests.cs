using System.Net;
using System.Net.Http.Json;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.State;
using Nvcf.Emulator.Tests.Infrastructure;
using Nvcf.Emulator.Tests.State;
using StackExchange.Redis;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// With Redis, deployments outlive the emulator, and so do their containers: the next emulator on the same Redis
/// adopts them (same container, no duplicate) or removes them when their deployment is gone.
/// </summary>
[Collection(DockerCollection.Name)]
public class RestartWithRedisTests(DockerFixture docker, RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task ARestartedEmulatorAdoptsTheRunningContainerAndServesWithIt()
    {
        var settings = Settings(database: 1);
        var emulatorA = new EmulatorFactory(settings: settings);
        var http = emulatorA.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new { name = "echo-restart", inferenceUrl = "/echo", inferencePort = 8000, containerImage = DockerFixture.EchoImage });
        try
        {
            await http.DeployAsync(function);
            await http.WaitForStatusAsync(function, Timeout, "ACTIVE");
            var before = Assert.Single(await docker.ContainersOfAsync(function.Id()));
            Assert.False(string.IsNullOrEmpty(before.Labels[ContainerLabels.State]));

            http.Dispose();
            await emulatorA.DisposeAsync();
            var left = Assert.Single(await docker.ContainersOfAsync(function.Id()));
            Assert.Equal(before.ID, left.ID);
            Assert.Equal("running", left.State);

            await using var emulatorB = new EmulatorFactory(settings: settings);
            using var httpB = emulatorB.CreateNvcfClient();
            await httpB.WaitForStatusAsync(function, Timeout, "ACTIVE");

            var after = Assert.Single(await docker.ContainersOfAsync(function.Id()));
            Assert.Equal(before.ID, after.ID);
            using (var response = await httpB.InvokeAsync(function.Id(), """{"after":"restart"}"""))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Contains("restart", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            await httpB.UndeployAsync(function);
            Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        }
        finally
        {
            await RemoveContainersAsync(function.Id());
        }
    }

    [Fact]
    public async Task AContainerWhoseDeploymentLeftTheStoreIsRemovedAtStart()
    {
        var settings = Settings(database: 2);
        var emulatorA = new EmulatorFactory(settings: settings);
        var http = emulatorA.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new { name = "echo-orphan", inferenceUrl = "/echo", inferencePort = 8000, containerImage = DockerFixture.EchoImage });
        try
        {
            await http.DeployAsync(function);
            await http.WaitForStatusAsync(function, Timeout, "ACTIVE");
            http.Dispose();
            await emulatorA.DisposeAsync();
            Assert.Single(await docker.ContainersOfAsync(function.Id()));

            using (var connection = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},defaultDatabase=2"))
            {
                Assert.True(await new RedisFunctionStore(connection).RemoveDeploymentAsync(function.VersionId()));
            }

            await using var emulatorB = new EmulatorFactory(settings: settings);
            using var httpB = emulatorB.CreateNvcfClient();

            Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        }
        finally
        {
            await RemoveContainersAsync(function.Id());
        }
    }

    [Fact]
    public async Task ARestartedEmulatorKeepsWhoAFunctionIsSharedWith()
    {
        var settings = TestAccounts.Settings("00:01:00");
        settings["ConnectionStrings:state"] = $"{redis.ConnectionString},defaultDatabase=3";
        var emulatorA = new EmulatorFactory(settings: settings);
        var http = emulatorA.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new { name = "echo-shared-restart", inferenceUrl = "/echo", inferencePort = 8000, containerImage = DockerFixture.EchoImage });
        try
        {
            await http.DeployAsync(function);
            await http.WaitForStatusAsync(function, Timeout, "ACTIVE");
            using (var shared = await http.PostAsJsonAsync($"/v2/nvcf/authorizations/functions/{function.Id()}", new { authorizedParties = new[] { new { ncaId = "nca-b" } } }))
            {
                Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
            }

            http.Dispose();
            await emulatorA.DisposeAsync();

            await using var emulatorB = new EmulatorFactory(settings: settings);
            using var owner = emulatorB.CreateNvcfClient();
            using var other = emulatorB.CreateNvcfClient(TestAccounts.BKey);
            await owner.WaitForStatusAsync(function, Timeout, "ACTIVE");

            var listed = Assert.Single(await other.ListFunctionsAsync("?visibility=authorized"));
            Assert.True((bool)listed["ownedByDifferentAccount"]!);
            using (var response = await other.InvokeAsync(function.Id(), """{"shared":"after restart"}"""))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Contains("after restart", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            await owner.UndeployAsync(function);
        }
        finally
        {
            await RemoveContainersAsync(function.Id());
        }
    }

    private Dictionary<string, string?> Settings(int database) => new()
    {
        ["ConnectionStrings:state"] = $"{redis.ConnectionString},defaultDatabase={database}",
        ["Emulator:ReadyTimeout"] = "00:01:00",
    };

    private async Task RemoveContainersAsync(Guid functionId)
    {
        foreach (var container in await docker.ContainersOfAsync(functionId))
        {
            await docker.Docker.Containers.RemoveContainerAsync(container.ID, new() { Force = true });
        }
    }
}
