using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>
/// Watches a deployed function or version: polls it (one <c>GET</c> of the version: status and <c>activeInstances</c>)
/// every second while it changes and every five seconds once steady, publishes what changed, and follows the logs of
/// its instance containers. One watch per resource; starting a new one replaces it.
/// </summary>
internal sealed class NvcfDeploymentWatcher(
    NvcfFunctionDashboard dashboard,
    NvcfContainerLogs containerLogs,
    IHttpClientFactory httpClientFactory,
    IHostApplicationLifetime lifetime) : IDisposable
{
    private static readonly TimeSpan s_fastPollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_steadyPollInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<NvcfFunctionResource, CancellationTokenSource> _watches = [];

    /// <summary>Starts watching the resource until <paramref name="runToken"/> (the emulator's run) ends, replacing any watch.</summary>
    public void Start(NvcfFunctionResource function, CancellationToken runToken)
    {
        var watch = CancellationTokenSource.CreateLinkedTokenSource(runToken, lifetime.ApplicationStopping);
        lock (_lock)
        {
            Cancel(function);
            _watches[function] = watch;
        }

        _ = Task.Run(() => WatchAsync(function, watch.Token), CancellationToken.None);
    }

    /// <summary>Stops watching the resource (its container logs are left to the caller).</summary>
    public void Stop(NvcfFunctionResource function)
    {
        lock (_lock)
        {
            Cancel(function);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var function in _watches.Keys.ToList())
            {
                Cancel(function);
            }
        }
    }

    private void Cancel(NvcfFunctionResource function)
    {
        if (_watches.Remove(function, out var watch))
        {
            watch.Cancel();
            watch.Dispose();
        }
    }

    private async Task WatchAsync(NvcfFunctionResource function, CancellationToken cancellationToken)
    {
        var resourceLogger = dashboard.LoggerFor(function);
        string? lastStatus = null;
        string? lastInstances = null;
        try
        {
            using var client = await NvcfEmulatorClient.CreateAsync(httpClientFactory, function.Emulator, cancellationToken);
            while (function.FunctionId is { } functionId && function.VersionId is { } versionId)
            {
                var version = await client.GetFunctionVersionAsync(functionId, versionId, cancellationToken);
                var status = version.Status;
                var instances = version.ActiveInstances ?? [];
                var instancesKey = string.Join('\n', instances.Select(i => $"{i.Location} {i.InstanceStatus} {i.InstanceId} {i.Gpus}").Order(StringComparer.Ordinal));
                if (instancesKey != lastInstances)
                {
                    lastInstances = instancesKey;
                    // "local": the instance has no container yet (the emulator shows its container name once created).
                    containerLogs.Follow(function, [.. instances.Select(i => i.Location).Where(l => l is { Length: > 0 } and not "local").Distinct(StringComparer.Ordinal)]);
                    await dashboard.InstancesAsync(function, instances);
                }

                if (status != lastStatus)
                {
                    lastStatus = status;
                    NvcfLog.StatusChanged(resourceLogger, status);
                    await PublishStatusAsync(client, function, functionId, versionId, status, cancellationToken);
                }

                if (status == "INACTIVE")
                {
                    break;
                }

                var steady = status is "ACTIVE" or "ERROR";
                await Task.Delay(steady ? s_steadyPollInterval : s_fastPollInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Replaced by a command, the emulator stopped or the app host is shutting down.
        }
        catch (Exception e)
        {
            await dashboard.FailAsync(function, e.Message);
        }
    }

    private async Task PublishStatusAsync(NvcfEmulatorClient client, NvcfFunctionResource function, Guid functionId, Guid versionId, string status, CancellationToken cancellationToken)
    {
        switch (status)
        {
            case "ACTIVE":
                var active = await client.FindDeploymentAsync(functionId, versionId, cancellationToken);
                await dashboard.ActiveAsync(function, client.BaseAddress, client.ShownToken, functionId, PlacementOf(active));
                break;
            case "ERROR":
                var deployment = await client.FindDeploymentAsync(functionId, versionId, cancellationToken);
                var error = deployment?.HealthInfo?.Select(h => h.Error).FirstOrDefault(e => !string.IsNullOrEmpty(e))
                    ?? "The emulator reported the deployment as ERROR without a reason.";
                await dashboard.DeploymentErrorAsync(function, PlacementOf(deployment), error);
                break;
            default:
                await dashboard.StatusAsync(function, status);
                break;
        }
    }

    /// <summary>What the deployment's GPU specification runs on here (the emulator's <c>placement</c>), or null.</summary>
    private static string? PlacementOf(NvcfDeploymentDto? deployment) =>
        deployment?.DeploymentSpecifications?.Select(s => s.Placement).FirstOrDefault(p => !string.IsNullOrEmpty(p));
}
