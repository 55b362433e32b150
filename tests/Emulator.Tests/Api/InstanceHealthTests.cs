using System.Net;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>A ready instance keeps being health-checked, on the fake runtime with a short interval.</summary>
public sealed class InstanceHealthTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly FakeContainerServer _containers = new();
    private FakeRuntime _runtime = null!;
    private EmulatorFactory _emulator = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _runtime = new FakeRuntime(_containers);
        _emulator = new EmulatorFactory(_runtime, new Dictionary<string, string?>
        {
            ["Emulator:ReadyTimeout"] = "00:00:10",
            ["Emulator:HealthCheckInterval"] = "00:00:00.100",
            ["Emulator:HealthCheckFailureThreshold"] = "2",
        });
        _http = _emulator.CreateNvcfClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
        await _containers.DisposeAsync();
    }

    [Fact]
    public async Task AnInstanceThatFailsItsHealthCheckAfterItWasReadyIsReplacedWhileTheDeploymentIsDegrading()
    {
        var function = await _http.CreateFunctionAsync(new
        {
            name = "sickly",
            inferenceUrl = "/echo",
            inferencePort = 8000,
            containerImage = FakeRuntime.Echo,
            health = new { protocol = "HTTP", uri = "/health/sickly", port = 8000, timeout = "PT1S", expectedStatusCode = 200 },
        });
        await _http.DeployAsync(function);
        await _http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var first = "fake-" + Assert.Single(_runtime.Started).InstanceId.ToString("N");

        _containers.SetHealthy("sickly", false);

        var degrading = await _http.WaitForStatusAsync(function, Timeout, "DEGRADING");
        var error = (string?)degrading["healthInfo"]![0]!["error"];
        Assert.StartsWith("Health check (GET /health/sickly on port 8000) failed 2 times in a row, 0.1 s apart; ", error);
        Assert.Contains("answered 503, expected 200", error);
        await Eventually.TrueAsync(() => !_runtime.Running.Contains(first));

        _containers.SetHealthy("sickly", true);

        var active = await _http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        Assert.Null(active["healthInfo"]);
        var replacement = "fake-" + Assert.Single(_runtime.Started, s => "fake-" + s.InstanceId.ToString("N") != first).InstanceId.ToString("N");
        Assert.Equal([replacement], _runtime.Running);
        using var response = await _http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AHealthCheckThatPassesAgainBeforeTheThresholdKeepsTheInstance()
    {
        var function = await _http.CreateFunctionAsync(new
        {
            name = "flaky",
            inferenceUrl = "/echo",
            inferencePort = 8000,
            containerImage = FakeRuntime.Echo,
            health = new { protocol = "HTTP", uri = "/health/flaky", port = 8000, timeout = "PT1S", expectedStatusCode = 200 },
        });
        await _http.DeployAsync(function);
        await _http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        for (var i = 0; i < 3; i++)
        {
            // One failed check, then a passing one: never two in a row.
            var failed = _containers.HealthChecks("flaky").Failed;
            _containers.FailNext("flaky", 1);
            await Eventually.TrueAsync(() => _containers.HealthChecks("flaky").Failed > failed);
            var answered = _containers.HealthChecks("flaky").Answered;
            await Eventually.TrueAsync(() => _containers.HealthChecks("flaky").Answered > answered);
        }

        Assert.Equal(3, _containers.HealthChecks("flaky").Failed);
        Assert.Single(_runtime.Started);
        Assert.Equal("ACTIVE", (string?)(await _http.GetDeploymentAsync(function))["functionStatus"]);
    }

    [Theory]
    [InlineData("Emulator:HealthCheckInterval", "00:00:00", "Emulator:HealthCheckInterval must be longer than zero.")]
    [InlineData("Emulator:HealthCheckFailureThreshold", "0", "Emulator:HealthCheckFailureThreshold must be at least 1.")]
    public async Task AnUnusableHealthCheckSettingStopsTheEmulatorFromStarting(string key, string value, string message)
    {
        await using var emulator = new EmulatorFactory(_runtime, new Dictionary<string, string?> { [key] = value });

        var e = Assert.Throws<OptionsValidationException>(() => emulator.CreateClient());

        Assert.Contains(message, e.Failures);
    }
}
