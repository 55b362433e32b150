using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Nvcf.Emulator.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>A ready instance keeps being health-checked on the real engine: one that turns unhealthy is replaced.</summary>
[Collection(DockerCollection.Name)]
public class HealthAfterReadyTests(DockerFixture docker, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task AnInstanceWhoseHealthCheckStartsFailingLeavesTheRotationAndIsReplacedByANewContainer()
    {
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?>
        {
            ["Emulator:ReadyTimeout"] = "00:01:00",
            ["Emulator:HealthCheckInterval"] = "00:00:01",
            ["Emulator:HealthCheckFailureThreshold"] = "2",
        });
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new
        {
            name = "turns-unhealthy",
            inferenceUrl = "/cgi-bin/env",
            containerImage = DockerFixture.CgiImage,
            health = new { protocol = "HTTP", uri = "/v2/health/ready", port = 8000, timeout = "PT2S", expectedStatusCode = 200 },
        });
        await http.DeployAsync(function);
        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var first = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        Assert.StartsWith(await HostnameAsync(http, function), first.ID);

        // Invocations all along, each noting when it was sent and which container answered.
        var clock = Stopwatch.StartNew();
        var answers = new ConcurrentQueue<(TimeSpan SentAt, HttpStatusCode Status, string? Hostname)>();
        using var stopInvoking = new CancellationTokenSource();
        var invoking = Task.Run(async () =>
        {
            while (!stopInvoking.IsCancellationRequested)
            {
                var sentAt = clock.Elapsed;
                using var response = await http.InvokeAsync(function.Id(), "{}");
                answers.Enqueue((sentAt, response.StatusCode, response.IsSuccessStatusCode ? HostnameIn(await response.Content.ReadAsStringAsync()) : null));
            }
        });

        // The health endpoint starts failing (404) while the function itself still answers.
        await Command.RunAsync("docker", ["exec", "--user", "root", first.ID, "rm", "/www/v2/health/ready"]);
        var sickAt = clock.Elapsed;

        var degrading = await http.WaitForStatusAsync(function, Timeout, "DEGRADING", "ERROR");
        var degradingAt = clock.Elapsed;
        Assert.Equal("DEGRADING", (string?)degrading["functionStatus"]);
        var error = (string?)degrading["healthInfo"]![0]!["error"];
        Assert.StartsWith("Health check (GET /v2/health/ready on port 8000) failed 2 times in a row, 1 s apart; ", error);
        Assert.Contains("GET /v2/health/ready answered 404, expected 200", error);

        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var activeAt = clock.Elapsed;
        // The unhealthy container is stopped gracefully (requests on it may finish), then removed.
        await Eventually.TrueAsync(async () => (await docker.ContainersOfAsync(function.Id())).All(c => c.ID != first.ID), Timeout);
        var replacement = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        Assert.Equal("running", replacement.State);
        await Task.Delay(500);
        await stopInvoking.CancelAsync();
        await invoking;

        // Before: the first container answered. Once the deployment showed DEGRADING: never again; the new one did.
        Assert.Contains(answers, a => a.SentAt < degradingAt && a.Hostname is { } h && first.ID.StartsWith(h, StringComparison.Ordinal));
        var after = answers.Where(a => a.SentAt > degradingAt).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.All(after, a => Assert.StartsWith(a.Hostname!, replacement.ID));
        Assert.Null((await http.GetDeploymentAsync(function))["healthInfo"]);
        output.WriteLine(
            $"DEGRADING {(degradingAt - sickAt).TotalSeconds:0.0} s after the health endpoint broke, ACTIVE again {(activeAt - degradingAt).TotalSeconds:0.0} s later; "
            + $"{answers.Count(a => a.SentAt < degradingAt)} invocations before, {after.Count} after, all 200 from {replacement.ID[..12]}");
        await http.UndeployAsync(function);
    }

    private static async Task<string> HostnameAsync(HttpClient http, System.Text.Json.Nodes.JsonObject function)
    {
        using var response = await http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return HostnameIn(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("The answer has no HOSTNAME.");
    }

    /// <summary>The container's host name (Docker sets it to the start of the container ID) from the env CGI's answer.</summary>
    private static string? HostnameIn(string environment) =>
        environment.Split('\n').FirstOrDefault(line => line.StartsWith("HOSTNAME=", StringComparison.Ordinal))?["HOSTNAME=".Length..];
}
