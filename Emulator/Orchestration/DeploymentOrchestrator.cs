using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Routing;
using Nvcf.Emulator.Runtime;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// Turns deployments (desired state, in the store) into running instances: one <see cref="VersionSupervisor"/>
/// per deployed version, published to the <see cref="FunctionRouter"/> so invocations can reach it.
/// At start it removes containers left behind by emulator processes that are gone.
/// With a durable store (Redis), containers outlive the emulator: stopping leaves them running, and at start the
/// containers labelled with this store are adopted when their deployment is still stored, removed when it is not.
/// </summary>
public sealed class DeploymentOrchestrator(
    IFunctionRuntime runtime,
    HealthProber prober,
    IFunctionStore store,
    FunctionRouter router,
    Otlp.OtlpRelay relay,
    IOptions<EmulatorOptions> options,
    ILogger<DeploymentOrchestrator> logger) : IHostedService
{
    private readonly ConcurrentDictionary<Guid, VersionSupervisor> _supervisors = new();
    private readonly ConcurrentDictionary<Guid, Task> _draining = new();
    private readonly CancellationTokenSource _shutdown = new();
    private string? _stateId;
    private Task _restoring = Task.CompletedTask;

    /// <summary>
    /// Restores the stored deployments (adopting or replacing their containers) before the API serves. When the state
    /// store cannot be reached, the emulator starts all the same (the API answers 503, <c>/health</c> is Unhealthy)
    /// and restores them once the store answers.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RestoreAsync(cancellationToken);
        }
        catch (StoreUnavailableException e)
        {
            logger.RestoreWaitingForStore(e.Message);
            _restoring = RestoreWhenTheStoreAnswersAsync(_shutdown.Token);
        }
    }

    private async Task RestoreWhenTheStoreAnswersAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RedisFunctionStore.ProbeInterval, cancellationToken);
                await RestoreAsync(cancellationToken);
                return;
            }
            catch (StoreUnavailableException)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RestoreAsync(CancellationToken cancellationToken)
    {
        _stateId = await store.GetStateIdAsync(cancellationToken);
        var deployed = new List<(FunctionVersion Version, Deployment Deployment)>();
        foreach (var deployment in await store.ListDeploymentsAsync(cancellationToken))
        {
            if (await store.GetVersionAsync(deployment.FunctionId, deployment.VersionId, cancellationToken) is { } version)
            {
                deployed.Add((version, deployment));
            }
        }

        var adoptable = new Dictionary<Guid, List<RuntimeContainer>>();
        try
        {
            var reaped = _stateId is null
                ? await runtime.ReapStaleAsync(cancellationToken)
                : await SortOutContainersAsync(_stateId, deployed, adoptable, cancellationToken);
            logger.RuntimeReady(reaped);
            await runtime.GetGpuPassthroughAsync(cancellationToken); // detects and logs the GPU mode
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.RuntimeUnreachable(e.Message);
        }

        if (_stateId is not null)
        {
            logger.DurableState(_stateId);
        }

        foreach (var (version, deployment) in deployed)
        {
            await DeployAsync(version, deployment, adoptable.GetValueOrDefault(version.VersionId) ?? [], cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _shutdown.CancelAsync();
        await _restoring;
        await Task.WhenAll(_draining.Values);
        if (_stateId is not null)
        {
            // Durable store: the deployments outlive this process, so do their containers.
            var left = await Task.WhenAll(_supervisors.Values.Select(s => s.DetachAsync()));
            logger.InstancesLeftRunning(left.Sum());
        }
        else
        {
            await Task.WhenAll(_supervisors.Values.Select(s => s.DisposeAsync().AsTask()));
        }

        _supervisors.Clear();
    }

    /// <summary>Starts serving a version: status DEPLOYING (or ACTIVE when it scales from zero) and instances on their way.</summary>
    public Task<FunctionStatus> DeployAsync(FunctionVersion version, Deployment deployment, CancellationToken cancellationToken) =>
        DeployAsync(version, deployment, [], cancellationToken);

    /// <summary>
    /// With a durable store: keeps the running containers of this store's stored deployments for adoption
    /// (<paramref name="adoptable"/>, by version), removes this store's others, and, as always, containers of
    /// emulator processes that are gone (from standalone emulators or other stores). Returns how many were removed.
    /// </summary>
    private async Task<int> SortOutContainersAsync(
        string stateId,
        List<(FunctionVersion Version, Deployment Deployment)> deployed,
        Dictionary<Guid, List<RuntimeContainer>> adoptable,
        CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var container in await runtime.ListAsync(cancellationToken))
        {
            if (container.StateId != stateId)
            {
                if (container.OwnerIsGone)
                {
                    logger.ContainerReaped(container.Instance.Name, "gone");
                    await runtime.RemoveAsync(container.Instance, cancellationToken);
                    removed++;
                }

                continue;
            }

            var match = deployed.FirstOrDefault(d => d.Deployment.DeploymentId == container.DeploymentId && d.Version.VersionId == container.VersionId);
            if (container.IsRunning && match.Version is { } version && container.InstanceId is not null
                && container.Instance.Endpoints.ContainsKey(version.EffectiveInferencePort)
                && container.Instance.Endpoints.ContainsKey(version.Health.Port))
            {
                if (!adoptable.TryGetValue(version.VersionId, out var list))
                {
                    adoptable[version.VersionId] = list = [];
                }

                list.Add(container);
                continue;
            }

            logger.ContainerOfGoneDeploymentRemoved(container.Instance.Name);
            await runtime.RemoveAsync(container.Instance, cancellationToken);
            removed++;
        }

        return removed;
    }

    private async Task<FunctionStatus> DeployAsync(
        FunctionVersion version, Deployment deployment, IReadOnlyList<RuntimeContainer> adopted, CancellationToken cancellationToken)
    {
        var telemetry = await relay.ResolveAsync(version, cancellationToken);
        var supervisor = new VersionSupervisor(version, deployment, runtime, prober, store, options.Value, logger, _stateId, telemetry);
        if (!_supervisors.TryAdd(version.VersionId, supervisor))
        {
            throw new InvalidOperationException($"Version {version.VersionId} is already deployed.");
        }

        foreach (var container in adopted)
        {
            supervisor.Adopt(container);
        }

        var status = supervisor.Route.Status;
        await store.UpdateVersionAsync(version.Id, version.VersionId, v => v with { Status = status }, cancellationToken);
        router.Publish(supervisor.Route);
        supervisor.Start();
        return status;
    }

    /// <summary>Applies changed GPU specifications (instance counts, concurrency) to a running deployment.</summary>
    public void Update(Deployment deployment)
    {
        if (_supervisors.TryGetValue(deployment.VersionId, out var supervisor))
        {
            supervisor.Update(deployment);
        }
    }

    /// <summary>Gives a deployed version's instances their new secrets (running ones at once).</summary>
    public void UpdateSecrets(Guid versionId, IReadOnlyList<Secret> secrets)
    {
        if (_supervisors.TryGetValue(versionId, out var supervisor))
        {
            supervisor.UpdateSecrets(secrets);
        }
    }

    /// <summary>
    /// Applies who a version is shared with to its invocations at once (docs/nvcf-contract.md#function-sharing).
    /// </summary>
    public void UpdateSharing(FunctionVersion version)
    {
        if (_supervisors.TryGetValue(version.VersionId, out var supervisor))
        {
            supervisor.Route.ShareWith(version.AuthorizedAccounts);
        }
    }

    /// <summary>
    /// Applies a version's new rate limit (or its removal, with null) to its invocations at once, without a redeploy
    /// (docs/nvcf-contract.md#rate-limits). Counters of the rates that stay carry on.
    /// </summary>
    public void UpdateRateLimit(Guid versionId, RateLimit? rateLimit)
    {
        if (_supervisors.TryGetValue(versionId, out var supervisor))
        {
            var route = supervisor.Route;
            route.RateLimiter = VersionRateLimiter.Create(rateLimit, route.RateLimiter);
        }
    }

    /// <summary>
    /// Stops serving a version (docs/nvcf-contract.md#undeploy): INACTIVE at once, so it takes no new invocations.
    /// Without <paramref name="graceful"/>, queued and in-flight requests are dropped and the containers removed before
    /// this returns. With it, and requests still queued or running, the deployment stays (draining) until they finish,
    /// then goes the same way.
    /// </summary>
    public async Task UndeployAsync(Guid functionId, Guid versionId, bool graceful)
    {
        await store.UpdateVersionAsync(functionId, versionId, v => v with { Status = FunctionStatus.Inactive });
        if (!_supervisors.TryGetValue(versionId, out var supervisor))
        {
            await store.RemoveDeploymentAsync(versionId);
            return;
        }

        supervisor.Retire();
        if (graceful && supervisor.IsBusy)
        {
            await store.UpdateDeploymentAsync(versionId, d => d with { Draining = true, LastUpdatedAt = DateTime.UtcNow });
            _draining[versionId] = DrainThenRemoveAsync(functionId, versionId, supervisor);
            return;
        }

        await RemoveAsync(functionId, versionId, supervisor);
    }

    /// <summary>The instances of a deployed version, for <c>activeInstances</c>.</summary>
    public IReadOnlyList<InstanceInfo> InstancesOf(Guid versionId) =>
        _supervisors.TryGetValue(versionId, out var supervisor)
            ? [.. supervisor.Instances.Select(i => new InstanceInfo(
                i.InstanceId, i.GpuSpecification, i.State, i.Container?.Name, i.Container?.Gpus, i.CreatedAt, i.UpdatedAt))]
            : [];

    /// <summary>
    /// Stops and removes one instance of any deployed version (<c>DELETE /v2/nvcf/instances/{instanceId}</c>); its
    /// version's supervisor replaces it as after a crash. False when no deployed version has that instance.
    /// </summary>
    public async Task<bool> DeleteInstanceAsync(Guid instanceId, CancellationToken cancellationToken)
    {
        foreach (var supervisor in _supervisors.Values)
        {
            if (supervisor.Instances.Any(i => i.InstanceId == instanceId))
            {
                return await supervisor.TerminateAsync(instanceId, cancellationToken);
            }
        }

        return false;
    }

    /// <summary>
    /// The last <paramref name="lines"/> lines an instance's container wrote to stdout and stderr: empty while its
    /// container is being created, null when no deployed version has that instance.
    /// </summary>
    public async Task<string?> ReadInstanceLogsAsync(Guid instanceId, int lines, CancellationToken cancellationToken)
    {
        var instance = _supervisors.Values.SelectMany(s => s.Instances).FirstOrDefault(i => i.InstanceId == instanceId);
        if (instance is null)
        {
            return null;
        }

        return instance.Container is { } container ? await runtime.ReadLogTailAsync(container, lines, cancellationToken) : "";
    }

    private async Task DrainThenRemoveAsync(Guid functionId, Guid versionId, VersionSupervisor supervisor)
    {
        try
        {
            await supervisor.DrainAsync(_shutdown.Token);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: remove without waiting any longer.
        }

        await RemoveAsync(functionId, versionId, supervisor);
        _draining.TryRemove(versionId, out _);
    }

    private async Task RemoveAsync(Guid functionId, Guid versionId, VersionSupervisor supervisor)
    {
        router.Withdraw(functionId, versionId);
        await supervisor.StopAsync($"Function id '{functionId}' version '{versionId}' was undeployed.");
        await supervisor.DisposeAsync();
        try
        {
            if (await runtime.RemoveDeploymentAsync(supervisor.Deployment.DeploymentId, CancellationToken.None) is > 0 and var left)
            {
                logger.UntrackedContainersRemoved(left, versionId);
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or System.Net.Sockets.SocketException)
        {
            logger.RuntimeUnreachable(e.Message); // what is left is reaped once this emulator is gone
        }

        _supervisors.TryRemove(versionId, out _);
        await store.RemoveDeploymentAsync(versionId);
    }

    /// <summary>Requests waiting for an instance slot of the version.</summary>
    public int QueueDepthOf(Guid versionId) =>
        _supervisors.TryGetValue(versionId, out var supervisor) ? supervisor.Route.Pool.QueueDepth : 0;
}

/// <summary>What the API shows of one instance.</summary>
public sealed record InstanceInfo(
    Guid InstanceId,
    GpuSpecification GpuSpecification,
    InstanceState State,
    string? ContainerName,
    string? Gpus,
    DateTime CreatedAt,
    DateTime UpdatedAt);
