namespace Nvcf.FunctionTests;

/// <summary>
/// Starts the app host once for every test in the collection (starting takes seconds, stopping about ten), and waits
/// until the function under test is deployed. Change <see cref="FunctionName"/> to your function's resource name.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    /// <summary>The NVCF function resource (<c>emulator.AddNvcfFunction("echo", ...)</c> in the app host).</summary>
    public const string FunctionName = "echo";

    /// <summary>The emulator resource (<c>builder.AddNvcfEmulator("nvcf-emulator")</c>).</summary>
    public const string EmulatorName = "nvcf-emulator";

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The app host has not started.");

    /// <summary>The function ID the emulator gave the function, read from its resource once it is Running.</summary>
    public Guid FunctionId { get; private set; }

    public async Task InitializeAsync()
    {
        // Fail within minutes rather than hang: a missing image or an unreachable Docker engine fails the wait below.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(timeout.Token);
        _app = await builder.BuildAsync(timeout.Token);
        await _app.StartAsync(timeout.Token);

        // Healthy means Running: the emulator reported the deployment ACTIVE (its containers pass their health
        // check). StopOnResourceUnavailable: a function that fails to deploy (FailedToStart, e.g. a missing image)
        // ends the wait at once with an exception instead of running into the timeout.
        var notifications = _app.Services.GetRequiredService<ResourceNotificationService>();
        var function = await notifications.WaitForResourceHealthyAsync(FunctionName, WaitBehavior.StopOnResourceUnavailable, timeout.Token);

        var functionId = function.Snapshot.Properties.Single(p => p.Name == NvcfFunctionProperties.FunctionId).Value;
        FunctionId = Guid.Parse(functionId!.ToString()!);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync(); // stops the emulator, which removes the function's containers
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AppHostCollection : ICollectionFixture<AppHostFixture>
{
    public const string Name = "App host";
}
