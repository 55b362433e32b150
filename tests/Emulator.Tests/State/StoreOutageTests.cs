using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Nvcf.Emulator.Tests.Docker;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.State;

/// <summary>
/// The Redis state store going away (frozen with <c>docker pause</c>, or not there at start): management calls answer
/// 503 naming the store at once instead of hanging, <c>/health</c> says Unhealthy and why, and all recovers when Redis
/// is back. Each test has its own Redis, as it freezes it.
/// </summary>
[Collection(DockerCollection.Name)]
public class StoreOutageTests
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task AFrozenStoreIsA503NamingItAtOnceAndAnUnhealthyEmulatorUntilItIsBack()
    {
        var redis = new RedisFixture();
        await redis.InitializeAsync();
        try
        {
            await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?> { ["ConnectionStrings:state"] = redis.ConnectionString });
            using var http = emulator.CreateNvcfClient();
            await http.CreateFunctionAsync(new { name = "before-outage", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage });
            Assert.Equal("Healthy", await HealthAsync(http, HttpStatusCode.OK));

            await redis.PauseAsync();
            var clock = Stopwatch.StartNew();
            var first = await (await http.GetAsync("/v2/nvcf/functions")).ProblemAsync(HttpStatusCode.ServiceUnavailable);
            var firstTook = clock.Elapsed;
            Assert.StartsWith($"The state store (Redis at {redis.ConnectionString}) is unavailable", (string?)first["detail"], StringComparison.Ordinal);
            Assert.True(firstTook < TimeSpan.FromSeconds(4), $"The first call took {firstTook}.");

            clock.Restart();
            await (await http.PostAsync("/v2/nvcf/functions", JsonBody(new { name = "during-outage", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage })))
                .ProblemAsync(HttpStatusCode.ServiceUnavailable);
            var secondTook = clock.Elapsed;
            Assert.True(secondTook < TimeSpan.FromSeconds(1), $"A call once the outage was known took {secondTook}.");
            Assert.Contains($"state-store: Unhealthy: The state store (Redis at {redis.ConnectionString}) is unavailable", await HealthAsync(http, HttpStatusCode.ServiceUnavailable), StringComparison.Ordinal);

            await redis.UnpauseAsync();
            await Eventually.TrueAsync(async () => (await http.GetAsync("/v2/nvcf/functions")).StatusCode == HttpStatusCode.OK, Recovery);
            Assert.Equal("Healthy", await HealthAsync(http, HttpStatusCode.OK));
        }
        finally
        {
            await redis.UnpauseAsync().ContinueWith(_ => { });
            await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task AStoreRefusingAtStartLeavesTheEmulatorRunningUnhealthyUntilItComes()
    {
        var port = FreePort();
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?> { ["ConnectionStrings:state"] = $"127.0.0.1:{port}" });
        using var http = emulator.CreateNvcfClient();

        Assert.Contains($"state-store: Unhealthy: The state store (Redis at 127.0.0.1:{port}) is unavailable", await HealthAsync(http, HttpStatusCode.ServiceUnavailable), StringComparison.Ordinal);
        var clock = Stopwatch.StartNew();
        await (await http.GetAsync("/v2/nvcf/functions")).ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"A call to a store that refuses took {clock.Elapsed}.");

        var redis = new RedisFixture { HostPort = port };
        await redis.InitializeAsync();
        try
        {
            await Eventually.TrueAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK, Recovery);
            await http.CreateFunctionAsync(new { name = "after-start", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage });
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }

    private static async Task<string> HealthAsync(HttpClient http, HttpStatusCode expected)
    {
        using var response = await http.GetAsync("/health");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"/health answered {(int)response.StatusCode}: {body}");
        return body;
    }

    private static StringContent JsonBody(object value) =>
        new(System.Text.Json.JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
