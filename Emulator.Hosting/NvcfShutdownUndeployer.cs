using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>
/// When the whole app host stops, undeploys the functions and versions of every emulator with durable state
/// (<c>WithRedisState</c>) while the emulators still run: such an emulator leaves its containers running when it stops,
/// for the next one to adopt, which is right when only the emulator restarts (this service is not involved then) but
/// not when the app host goes away. Runs in <see cref="StoppingAsync"/>, before the orchestrator stops the resources in
/// its <c>StopAsync</c>; the undeploys run together, bounded by a timeout.
/// </summary>
internal sealed class NvcfShutdownUndeployer(
    DistributedApplicationModel model,
    IHttpClientFactory httpClientFactory,
    ILogger<NvcfShutdownUndeployer> logger) : IHostedLifecycleService
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var deployed = model.Resources.OfType<NvcfFunctionResource>()
            .Where(f => f.FunctionId is not null && f.VersionId is not null && f.Emulator.Annotations.OfType<NvcfDurableStateAnnotation>().Any())
            .ToList();
        if (deployed.Count == 0)
        {
            return;
        }

        NvcfLog.UndeployingAtShutdown(logger, deployed.Count);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_timeout);
        await Task.WhenAll(deployed.Select(f => UndeployAsync(f, timeout.Token)));
    }

    private async Task UndeployAsync(NvcfFunctionResource function, CancellationToken cancellationToken)
    {
        try
        {
            using var client = await NvcfEmulatorClient.CreateAsync(httpClientFactory, function.Emulator, cancellationToken);
            if (function.FunctionId is { } functionId && function.VersionId is { } versionId)
            {
                await client.UndeployAsync(functionId, versionId, cancellationToken);
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or InvalidOperationException)
        {
            NvcfLog.ShutdownUndeployFailed(logger, function.Name, e.Message);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
