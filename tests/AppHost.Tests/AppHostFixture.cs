using System.Diagnostics;

namespace Nvcf.AppHost.Tests;

/// <summary>
/// The app host, started once for the whole assembly (starting and stopping it takes seconds), with a few functions
/// added to its model: waits until the emulator answers its health check and every function is deployed (or failed). Fails, never skips, when Docker is
/// unreachable: the emulator runs functions as containers on the local engine.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public const string EmulatorName = "nvcf-emulator";
    public const string EchoFunctionName = "echo";

    /// <summary>A function added to the app host's model here, whose image exists nowhere: its deployment must fail.</summary>
    public const string MissingImageFunctionName = "missing-image";

    /// <summary>A function added here whose image is built from tests/images/busybox-cgi by the integration.</summary>
    public const string DockerfileFunctionName = "cgi";

    /// <summary>A second version of <see cref="DockerfileFunctionName"/> (<c>AddVersion</c>), with <c>VERSION=v2</c> where the function has <c>v1</c>.</summary>
    public const string DockerfileVersionName = "cgi-v2";

    /// <summary>A function added here that the emulator refuses to create (an environment key that is no variable name).</summary>
    public const string RefusedFunctionName = "refused";

    /// <summary>A version of <see cref="RefusedFunctionName"/>: it must fail with its function's cause.</summary>
    public const string RefusedVersionName = "refused-v2";

    /// <summary>A function added here with <c>WithTelemetry()</c>, built from tests/images/busybox-cgi.</summary>
    public const string TracedFunctionName = "traced";

    /// <summary>The dashboard's OTLP API key as the app host is given it here.</summary>
    public const string OtlpApiKey = "fixture-otlp-key";

    /// <summary>
    /// The emulator's API key, given with <c>WithApiKey</c> (as a secret parameter): the integration deploys every function
    /// with it, and the tests and the discovery client call the emulator with it.
    /// </summary>
    public const string ApiKey = "fixture-api-key";

    /// <summary>A function added here whose Dockerfile does not exist: its build must fail.</summary>
    public const string BrokenBuildFunctionName = "broken-build";

    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(3);

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The app host has not started.");

    public ResourceNotificationService Notifications => App.Services.GetRequiredService<ResourceNotificationService>();

    /// <summary>Stands in for the dashboard's OTLP/gRPC endpoint (the tested app host has no dashboard).</summary>
    public OtlpGrpcReceiver Dashboard { get; } = new();

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(s_startTimeout);
        var cancellationToken = timeout.Token;

        await EnsureDockerIsReachableAsync(cancellationToken);

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(cancellationToken);
        builder.Configuration["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = (await Dashboard.StartAsync()).ToString();
        builder.Configuration["AppHost:OtlpApiKey"] = OtlpApiKey;
        var emulator = builder.CreateResourceBuilder(builder.Resources.OfType<NvcfEmulatorResource>().Single(r => r.Name == EmulatorName))
            .WithApiKey(builder.AddParameter("nvcf-api-key", ApiKey, secret: true));
        builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "discovery-client"))
            .WithEnvironment("Nvcf__ApiKey", ApiKey);
        emulator.AddNvcfFunction(MissingImageFunctionName, "nvcf-samples/does-not-exist:latest");
        emulator.AddNvcfFunction(RefusedFunctionName, "nvcf-samples/echo:latest").WithEnvironment("NOT-A-NAME", "x")
            .AddVersion(RefusedVersionName);
        var busyboxCgi = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "tests", "images", "busybox-cgi"));
        var cgi = emulator.AddNvcfFunctionFromDockerfile(DockerfileFunctionName, busyboxCgi, "/cgi-bin/env")
            .WithEnvironment("VERSION", "v1");
        cgi.AddVersion(DockerfileVersionName).WithEnvironment("VERSION", "v2");
        // Set after AddVersion: the version inherits it when it is deployed.
        cgi.WithBuildArg("BASE", await BusyboxBaseAsync(cancellationToken));
        emulator.AddNvcfFunctionFromDockerfile(BrokenBuildFunctionName, busyboxCgi, dockerfile: "Dockerfile.does-not-exist");
        emulator.AddNvcfFunctionFromDockerfile(TracedFunctionName, busyboxCgi, "/cgi-bin/telemetry")
            .WithBuildArg("BASE", await BusyboxBaseAsync(cancellationToken))
            .WithTelemetry();
        _app = await builder.BuildAsync(cancellationToken);
        await _app.StartAsync(cancellationToken);

        await Notifications.WaitForResourceHealthyAsync(EmulatorName, WaitBehavior.StopOnResourceUnavailable, cancellationToken);

        var echo = await WaitForDeploymentAsync(EchoFunctionName, cancellationToken);
        if (echo.Snapshot.State?.Text == KnownResourceStates.FailedToStart)
        {
            var error = echo.Snapshot.Properties.FirstOrDefault(p => p.Name == NvcfFunctionProperties.Error)?.Value;
            throw new InvalidOperationException($"The function '{EchoFunctionName}' failed to deploy: {error}");
        }

        await WaitForDeploymentAsync(MissingImageFunctionName, cancellationToken);
        await WaitForDeploymentAsync(DockerfileFunctionName, cancellationToken);
        await WaitForDeploymentAsync(DockerfileVersionName, cancellationToken);
        await WaitForDeploymentAsync(BrokenBuildFunctionName, cancellationToken);
        await WaitForDeploymentAsync(RefusedFunctionName, cancellationToken);
        await WaitForDeploymentAsync(RefusedVersionName, cancellationToken);
        await WaitForDeploymentAsync(TracedFunctionName, cancellationToken);
    }

    /// <summary>The busybox base eng/setup.sh provides: the public image where present, else the local one.</summary>
    private static async Task<string> BusyboxBaseAsync(CancellationToken cancellationToken)
    {
        var (exitCode, _) = await DockerAsync(["image", "inspect", "busybox:1.36"], cancellationToken);
        return exitCode == 0 ? "busybox:1.36" : "nvcf-local/busybox:1.35";
    }

    private static async Task<(int ExitCode, string Output)> DockerAsync(string[] arguments, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo("docker", arguments) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("docker did not start");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        _ = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await output);
    }

    /// <summary>Waits until the function is active (Running and healthy) or has failed to deploy.</summary>
    public Task<ResourceEvent> WaitForDeploymentAsync(string function, CancellationToken cancellationToken) =>
        Notifications.WaitForResourceAsync(
            function,
            e => e.Snapshot.State?.Text == KnownResourceStates.FailedToStart || e.Snapshot.HealthStatus == HealthStatus.Healthy,
            cancellationToken);

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await Dashboard.DisposeAsync();
    }

    /// <summary>Fails with a clear message instead of letting the deployment time out when no engine answers.</summary>
    private static async Task EnsureDockerIsReachableAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("docker", ["version", "--format", "{{.Server.Version}}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("docker did not start");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new InvalidOperationException($"These tests need Docker: the docker CLI could not be started ({e.Message}). Run eng/setup.sh.", e);
        }

        using (process)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(30));
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var error = process.StandardError.ReadToEndAsync(deadline.Token);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException("These tests need Docker: `docker version` did not answer within 30 s. Run eng/setup.sh.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"These tests need Docker: `docker version` failed with exit code {process.ExitCode}: {string.Join(' ', (await error).Trim(), (await output).Trim()).Trim()} Run eng/setup.sh.");
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AppHostCollection : ICollectionFixture<AppHostFixture>
{
    public const string Name = "App host";
}
