using System.Collections.Immutable;
using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>
/// Drives each <see cref="NvcfFunctionResource"/> through its emulator's API: build (for Dockerfile functions),
/// create, deploy, undeploy, redeploy; then watches the version (status and <c>activeInstances</c>) and publishes
/// it as the resource's dashboard state. One operation at a time per function; a new one replaces the watch.
/// </summary>
internal sealed class NvcfFunctionDeployer(
    ResourceNotificationService notifications,
    ResourceLoggerService resourceLoggers,
    IHttpClientFactory httpClientFactory,
    IHostApplicationLifetime lifetime,
    NvcfContainerLogs containerLogs,
    ILogger<NvcfFunctionDeployer> logger) : IDisposable
{
    /// <summary>The name of the HttpClient used for the emulator's API (registered without request logging).</summary>
    public const string HttpClientName = "nvcf-emulator-api";

    private const string EmulatorEndpointName = "http";
    private static readonly TimeSpan s_fastPollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_steadyPollInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_shutdownUndeployTimeout = TimeSpan.FromSeconds(10);

    private static readonly ResourceStateSnapshot s_building = new(NvcfFunctionProperties.BuildingState, KnownResourceStateStyles.Info);
    private static readonly ResourceStateSnapshot s_deploying = new(NvcfFunctionProperties.DeployingState, KnownResourceStateStyles.Info);
    private static readonly ResourceStateSnapshot s_undeploying = new(NvcfFunctionProperties.UndeployingState, KnownResourceStateStyles.Info);
    private static readonly ResourceStateSnapshot s_undeployed = new(NvcfFunctionProperties.UndeployedState, KnownResourceStateStyles.Info);
    private static readonly ResourceStateSnapshot s_active = new(KnownResourceStates.Running, KnownResourceStateStyles.Success);
    private static readonly ResourceStateSnapshot s_failed = new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error);

    private readonly Lock _lock = new();
    private readonly Dictionary<ProjectResource, CancellationTokenSource> _runs = [];
    private readonly Dictionary<NvcfFunctionResource, FunctionRun> _functions = [];
    private CancellationTokenRegistration? _undeployAtShutdown;

    private enum Operation
    {
        Deploy,
        Undeploy,
        Redeploy,
        Restart,
    }

    /// <summary>Starts deploying every function of the emulator in the background: the emulator's ready event must not wait for containers.</summary>
    public void OnEmulatorReady(ProjectResource emulator, IEnumerable<NvcfFunctionResource> functions)
    {
        var run = new CancellationTokenSource();
        lock (_lock)
        {
            _undeployAtShutdown ??= lifetime.ApplicationStopping.Register(UndeployDurableFunctions);
            if (_runs.Remove(emulator, out var previous))
            {
                previous.Cancel();
                previous.Dispose();
            }

            _runs[emulator] = run;
        }

        foreach (var function in functions)
        {
            _ = Task.Run(() => ExecuteAsync(function, Operation.Deploy, CancellationToken.None), CancellationToken.None);
        }
    }

    /// <summary>
    /// When the app host stops, functions on an emulator with durable state are undeployed while the emulator still
    /// runs: such an emulator leaves its containers running when it stops, for the next one to adopt, which is right
    /// when only the emulator restarts but not when the whole app host goes away.
    /// </summary>
    private void UndeployDurableFunctions()
    {
        List<Task> undeploys;
        lock (_lock)
        {
            undeploys = [.. _functions.Keys
                .Where(f => f.FunctionId is not null && f.VersionId is not null && f.Emulator.Annotations.OfType<NvcfDurableStateAnnotation>().Any())
                .Select(UndeployAtShutdownAsync)];
        }

        Task.WaitAll([.. undeploys], s_shutdownUndeployTimeout);
    }

    private async Task UndeployAtShutdownAsync(NvcfFunctionResource function)
    {
        try
        {
            using var timeout = new CancellationTokenSource(s_shutdownUndeployTimeout);
            var client = CreateClient(function.Emulator, out var http);
            using (http)
            {
                await client.UndeployAsync(function.FunctionId!.Value, function.VersionId!.Value, timeout.Token);
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or InvalidOperationException)
        {
            NvcfLog.ShutdownUndeployFailed(logger, function.Name, e.Message);
        }
    }

    public async Task OnEmulatorStoppedAsync(ProjectResource emulator, IEnumerable<NvcfFunctionResource> functions)
    {
        lock (_lock)
        {
            if (_runs.Remove(emulator, out var run))
            {
                run.Cancel();
                run.Dispose();
            }
        }

        foreach (var function in functions)
        {
            StopWatching(function);
            containerLogs.StopAll(function);
            function.FunctionId = null;
            function.VersionId = null;
            await notifications.PublishUpdateAsync(function, s => s with
            {
                State = KnownResourceStates.Exited,
                StopTimeStamp = DateTime.UtcNow,
                Urls = [],
                Properties = WithoutInstances(s.Properties),
            });
        }
    }

    public Task<ExecuteCommandResult> DeployAsync(NvcfFunctionResource function, CancellationToken cancellationToken) =>
        ExecuteAsync(function, Operation.Deploy, cancellationToken);

    public Task<ExecuteCommandResult> UndeployAsync(NvcfFunctionResource function, CancellationToken cancellationToken) =>
        ExecuteAsync(function, Operation.Undeploy, cancellationToken);

    public Task<ExecuteCommandResult> RedeployAsync(NvcfFunctionResource function, CancellationToken cancellationToken) =>
        ExecuteAsync(function, Operation.Redeploy, cancellationToken);

    public Task<ExecuteCommandResult> RestartAsync(NvcfFunctionResource function, CancellationToken cancellationToken) =>
        ExecuteAsync(function, Operation.Restart, cancellationToken);

    /// <summary>Deploy and Undeploy are offered when they change something; Redeploy once the emulator is up.</summary>
    public static ResourceCommandState CommandState(string command, CustomResourceSnapshot snapshot)
    {
        var state = snapshot.State?.Text;
        if (state is null || state == KnownResourceStates.Waiting || state == KnownResourceStates.Exited
            || state == NvcfFunctionProperties.BuildingState || state == NvcfFunctionProperties.UndeployingState)
        {
            return ResourceCommandState.Disabled;
        }

        var hasDeployment = snapshot.Properties.FirstOrDefault(p => p.Name == NvcfFunctionProperties.FunctionStatus)?.Value is string status
            && status != "INACTIVE";
        var enabled = command switch
        {
            NvcfFunctionProperties.DeployCommand => state == NvcfFunctionProperties.UndeployedState || state == KnownResourceStates.FailedToStart,
            NvcfFunctionProperties.UndeployCommand or NvcfFunctionProperties.RestartCommand => hasDeployment,
            _ => true,
        };
        return enabled ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var run in _runs.Values)
            {
                run.Cancel();
                run.Dispose();
            }

            _runs.Clear();
            foreach (var function in _functions.Values)
            {
                function.Watch?.Cancel();
                function.Watch?.Dispose();
                function.Watch = null;
            }
        }
    }

    private async Task<ExecuteCommandResult> ExecuteAsync(NvcfFunctionResource function, Operation operation, CancellationToken commandToken)
    {
        var resourceLogger = resourceLoggers.GetLogger(function);
        CancellationToken runToken;
        FunctionRun functionRun;
        lock (_lock)
        {
            if (!_runs.TryGetValue(function.Emulator, out var run))
            {
                return CommandResults.Failure($"The emulator '{function.Emulator.Name}' is not running.");
            }

            runToken = run.Token;
            if (!_functions.TryGetValue(function, out functionRun!))
            {
                functionRun = _functions[function] = new FunctionRun();
            }
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(runToken, commandToken, lifetime.ApplicationStopping);
        var cancellationToken = linked.Token;
        try
        {
            await functionRun.Gate.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return CommandResults.Canceled();
        }

        try
        {
            StopWatching(function);
            var client = CreateClient(function.Emulator, out var http);
            using (http)
            {
                var message = operation switch
                {
                    Operation.Undeploy => await UndeployAsync(client, function, resourceLogger, cancellationToken),
                    _ => await DeployAsync(client, function, operation, resourceLogger, cancellationToken),
                };
                if (operation != Operation.Undeploy)
                {
                    StartWatching(function, functionRun, runToken);
                }

                return CommandResults.Success(message);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The emulator stopped, the app host is shutting down or the caller gave up.
            return CommandResults.Canceled();
        }
        catch (Exception e)
        {
            await FailAsync(function, resourceLogger, e.Message);
            return CommandResults.Failure(e.Message);
        }
        finally
        {
            functionRun.Gate.Release();
        }
    }

    /// <summary>
    /// Builds the image if the function has a Dockerfile (not on restart), finds or creates the function, and deploys
    /// it unless it is already deployed; on redeploy and restart (or after an ERROR) removes the deployment first.
    /// </summary>
    private async Task<string> DeployAsync(NvcfEmulatorClient client, NvcfFunctionResource function, Operation operation, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        var redeploy = operation is Operation.Redeploy or Operation.Restart;
        await notifications.PublishUpdateAsync(function, s => s with
        {
            StartTimeStamp = s.StartTimeStamp ?? DateTime.UtcNow,
            StopTimeStamp = null,
            Properties = Merge(s.Properties, Property(NvcfFunctionProperties.Error, null, "Error")),
        });

        if (function.ImageBuild is { } build && operation != Operation.Restart)
        {
            await notifications.PublishUpdateAsync(function, s => s with { State = s_building });
            await NvcfImageBuilder.BuildAsync(function.Image, build, resourceLogger, cancellationToken);
        }

        await notifications.PublishUpdateAsync(function, s => s with { State = s_deploying });
        if (function.FunctionId is not { } functionId || function.VersionId is not { } versionId)
        {
            (functionId, versionId) = await FindOrCreateAsync(client, function, resourceLogger, cancellationToken);
        }

        // The version may be deployed already: by an earlier command, or before the emulator restarted (Redis state).
        var existing = await client.FindDeploymentAsync(functionId, versionId, cancellationToken);
        if (existing is not null && !redeploy && existing.FunctionStatus != "ERROR")
        {
            return $"'{function.Name}' is already deployed ({existing.FunctionStatus}).";
        }

        if (existing is not null)
        {
            if (operation == Operation.Restart)
            {
                NvcfLog.RestartingInstances(resourceLogger, function.Name);
            }
            else
            {
                NvcfLog.Undeploying(resourceLogger, function.Name);
            }

            await client.UndeployAsync(functionId, versionId, cancellationToken);
        }

        NvcfLog.Deploying(resourceLogger, Describe(function.Deployment));
        var deployment = await client.DeployAsync(functionId, versionId, function.Deployment, cancellationToken);
        await notifications.PublishUpdateAsync(function, s => s with
        {
            Properties = Merge(WithoutInstances(s.Properties), Property(NvcfFunctionProperties.FunctionStatus, deployment.FunctionStatus, "NVCF status")),
        });
        return operation switch
        {
            Operation.Restart => $"Restarting the instances of '{function.Name}'.",
            Operation.Redeploy => $"Redeploying '{function.Name}'.",
            _ => $"Deploying '{function.Name}'.",
        };
    }

    /// <summary>
    /// Finds the function by name on the emulator (it keeps functions across restarts with Redis state) and reuses its
    /// latest version when that matches the resource's definition, else adds a version; creates the function when
    /// there is none by that name.
    /// </summary>
    private async Task<(Guid FunctionId, Guid VersionId)> FindOrCreateAsync(NvcfEmulatorClient client, NvcfFunctionResource function, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        var baseAddress = client.BaseAddress;
        var versions = (await client.ListFunctionsAsync(cancellationToken))
            .Where(v => string.Equals(v.Name, function.Name, StringComparison.Ordinal))
            .OrderByDescending(v => v.CreatedAt)
            .ToList();
        NvcfFunctionDto created;
        if (versions.Count == 0)
        {
            NvcfLog.CreatingFunction(resourceLogger, function.Name, function.Image, baseAddress);
            created = await client.CreateFunctionAsync(function, cancellationToken);
            NvcfLog.FunctionCreated(resourceLogger, created.Id, created.VersionId);
        }
        else if (Matches(versions[0], function))
        {
            created = versions[0];
            NvcfLog.ReusingFunction(resourceLogger, function.Name, created.Id, created.VersionId, baseAddress);
        }
        else
        {
            NvcfLog.CreatingVersion(resourceLogger, function.Name, versions[0].Id, function.Image);
            created = await client.CreateVersionAsync(versions[0].Id, function, cancellationToken);
            NvcfLog.FunctionCreated(resourceLogger, created.Id, created.VersionId);
        }

        function.FunctionId = created.Id;
        function.VersionId = created.VersionId;
        var invokeUrl = InvokeUrl(baseAddress, created.Id);
        await notifications.PublishUpdateAsync(function, s => s with
        {
            Urls = [new UrlSnapshot("invoke", invokeUrl, IsInternal: false)],
            Properties = Merge(
                s.Properties,
                Property(NvcfFunctionProperties.FunctionId, created.Id.ToString(), "Function ID"),
                Property(NvcfFunctionProperties.VersionId, created.VersionId.ToString(), "Version ID"),
                Property(NvcfFunctionProperties.InvokeUrl, invokeUrl, "Invoke (POST)")),
        });
        return (created.Id, created.VersionId);
    }

    /// <summary>Whether an existing version runs what the resource describes: image, inference URL and port, health path, environment.</summary>
    private static bool Matches(NvcfFunctionDto version, NvcfFunctionResource function) =>
        string.Equals(version.ContainerImage, function.Image, StringComparison.Ordinal)
        && string.Equals(version.InferenceUrl, function.InferenceUrl, StringComparison.Ordinal)
        && version.InferencePort == function.InferencePort
        && (function.HealthUri is null || string.Equals(version.HealthUri, function.HealthUri, StringComparison.Ordinal))
        && (version.ContainerEnvironment ?? []).Count == function.Environment.Count
        && (version.ContainerEnvironment ?? []).All(e => function.Environment.TryGetValue(e.Key, out var value) && value == e.Value);

    private async Task<string> UndeployAsync(NvcfEmulatorClient client, NvcfFunctionResource function, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        if (function.FunctionId is not { } functionId || function.VersionId is not { } versionId)
        {
            return $"'{function.Name}' has not been created: there is nothing to undeploy.";
        }

        await notifications.PublishUpdateAsync(function, s => s with { State = s_undeploying });
        NvcfLog.Undeploying(resourceLogger, function.Name);
        var removed = await client.UndeployAsync(functionId, versionId, cancellationToken);
        containerLogs.StopAll(function);
        await notifications.PublishUpdateAsync(function, s => s with
        {
            State = s_undeployed,
            Properties = Merge(
                WithoutInstances(s.Properties),
                Property(NvcfFunctionProperties.FunctionStatus, "INACTIVE", "NVCF status"),
                Property(NvcfFunctionProperties.Error, null, "Error")),
        });
        NvcfLog.StatusChanged(resourceLogger, "INACTIVE");
        return removed ? $"Undeployed '{function.Name}'." : $"'{function.Name}' had no deployment.";
    }

    private void StartWatching(NvcfFunctionResource function, FunctionRun functionRun, CancellationToken runToken)
    {
        var watch = CancellationTokenSource.CreateLinkedTokenSource(runToken, lifetime.ApplicationStopping);
        lock (_lock)
        {
            functionRun.Watch = watch;
        }

        _ = Task.Run(() => WatchAsync(function, watch.Token), CancellationToken.None);
    }

    private void StopWatching(NvcfFunctionResource function)
    {
        lock (_lock)
        {
            if (_functions.TryGetValue(function, out var functionRun) && functionRun.Watch is { } watch)
            {
                functionRun.Watch = null;
                watch.Cancel();
                watch.Dispose();
            }
        }
    }

    /// <summary>
    /// Polls the version (one <c>GET</c>: status and <c>activeInstances</c>) every second while it changes and every
    /// five seconds once steady, and publishes only what changed.
    /// </summary>
    private async Task WatchAsync(NvcfFunctionResource function, CancellationToken cancellationToken)
    {
        var resourceLogger = resourceLoggers.GetLogger(function);
        string? lastStatus = null;
        string? lastInstances = null;
        try
        {
            var client = CreateClient(function.Emulator, out var http);
            using (http)
            {
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
                        await PublishInstancesAsync(function, instances);
                    }

                    if (status != lastStatus)
                    {
                        lastStatus = status;
                        NvcfLog.StatusChanged(resourceLogger, status);
                        await PublishStatusAsync(function, client, functionId, versionId, status, resourceLogger, cancellationToken);
                    }

                    if (status == "INACTIVE")
                    {
                        break;
                    }

                    var steady = status is "ACTIVE" or "ERROR";
                    await Task.Delay(steady ? s_steadyPollInterval : s_fastPollInterval, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Replaced by a command, the emulator stopped or the app host is shutting down.
        }
        catch (Exception e)
        {
            await FailAsync(function, resourceLogger, e.Message);
        }
    }

    private async Task PublishStatusAsync(NvcfFunctionResource function, NvcfEmulatorClient client, Guid functionId, Guid versionId, string status, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        switch (status)
        {
            case "ACTIVE":
                var placement = PlacementOf(await client.FindDeploymentAsync(functionId, versionId, cancellationToken));
                var invokeUrl = InvokeUrl(client.BaseAddress, functionId);
                var curl = $"curl -X POST {invokeUrl} -H \"Authorization: Bearer {NvcfEmulatorClient.BearerToken}\" -H \"Content-Type: application/json\" -d '{{\"hello\":\"nvcf\"}}'";
                NvcfLog.FunctionActive(resourceLogger, function.Name, curl);
                NvcfLog.FunctionActive(logger, function.Name, curl);
                await notifications.PublishUpdateAsync(function, s => s with
                {
                    State = s_active,
                    Properties = Merge(
                        s.Properties,
                        Property(NvcfFunctionProperties.FunctionStatus, status, "NVCF status"),
                        Property(NvcfFunctionProperties.Error, null, "Error"),
                        Property(NvcfFunctionProperties.GpuPlacement, placement, "GPU")),
                });
                break;
            case "ERROR":
                var deployment = await client.FindDeploymentAsync(functionId, versionId, cancellationToken);
                var error = deployment?.HealthInfo?.Select(h => h.Error).FirstOrDefault(e => !string.IsNullOrEmpty(e))
                    ?? "The emulator reported the deployment as ERROR without a reason.";
                await notifications.PublishUpdateAsync(function, s => s with
                {
                    Properties = Merge(
                        s.Properties,
                        Property(NvcfFunctionProperties.FunctionStatus, status, "NVCF status"),
                        Property(NvcfFunctionProperties.GpuPlacement, PlacementOf(deployment), "GPU")),
                });
                await FailAsync(function, resourceLogger, error);
                break;
            case "INACTIVE":
                await notifications.PublishUpdateAsync(function, s => s with
                {
                    State = s_undeployed,
                    Properties = Merge(s.Properties, Property(NvcfFunctionProperties.FunctionStatus, status, "NVCF status")),
                });
                break;
            default:
                await notifications.PublishUpdateAsync(function, s => s with
                {
                    State = status == "DEPLOYING" ? s_deploying : new ResourceStateSnapshot(ToTitle(status), KnownResourceStateStyles.Warn),
                    Properties = Merge(s.Properties, Property(NvcfFunctionProperties.FunctionStatus, status, "NVCF status")),
                });
                break;
        }
    }

    private Task PublishInstancesAsync(NvcfFunctionResource function, IReadOnlyList<NvcfInstanceDto> instances) =>
        notifications.PublishUpdateAsync(function, s =>
        {
            var properties = WithoutInstances(s.Properties).ToBuilder();
            properties.Add(Property(NvcfFunctionProperties.InstanceCount, instances.Count.ToString(CultureInfo.InvariantCulture), "Instances"));
            var n = 0;
            foreach (var instance in instances.OrderBy(i => i.Location, StringComparer.Ordinal))
            {
                n++;
                properties.Add(Property(
                    NvcfFunctionProperties.InstancePrefix + n.ToString(CultureInfo.InvariantCulture),
                    instance.Gpus is { Length: > 0 } gpus
                        ? $"{instance.Location} ({instance.InstanceStatus}, {gpus}, instance {instance.InstanceId})"
                        : $"{instance.Location} ({instance.InstanceStatus}, instance {instance.InstanceId})",
                    $"Instance {n}"));
            }

            return s with { Properties = properties.ToImmutable() };
        });

    private async Task FailAsync(NvcfFunctionResource function, ILogger resourceLogger, string error)
    {
        NvcfLog.FunctionFailed(resourceLogger, function.Name, error);
        NvcfLog.FunctionFailed(logger, function.Name, error);
        await notifications.PublishUpdateAsync(function, s => s with
        {
            State = s_failed,
            Properties = Merge(s.Properties, Property(NvcfFunctionProperties.Error, error, "Error")),
        });
    }

    private NvcfEmulatorClient CreateClient(ProjectResource emulator, out HttpClient http)
    {
        var endpoint = emulator.GetEndpoint(EmulatorEndpointName);
        if (!endpoint.Exists)
        {
            throw new InvalidOperationException(
                $"The emulator resource '{emulator.Name}' has no '{EmulatorEndpointName}' endpoint: give it one (WithHttpEndpoint) or a launch profile with an http applicationUrl.");
        }

        http = httpClientFactory.CreateClient(HttpClientName);
        http.Timeout = s_requestTimeout;
        return new NvcfEmulatorClient(http, new Uri(endpoint.Url));
    }

    /// <summary>What the deployment's GPU specification runs on here (the emulator's <c>placement</c>), or null.</summary>
    private static string? PlacementOf(NvcfDeploymentDto? deployment) =>
        deployment?.DeploymentSpecifications?.Select(s => s.Placement).FirstOrDefault(p => !string.IsNullOrEmpty(p));

    private static string InvokeUrl(Uri baseAddress, Guid functionId) =>
        new Uri(baseAddress, $"/v2/nvcf/pexec/functions/{functionId}").ToString();

    public static string Describe(NvcfDeploymentSpecification spec) => string.Create(
        CultureInfo.InvariantCulture,
        $"{spec.Gpu} {spec.InstanceType}, instances {spec.MinInstances}..{spec.MaxInstances}, maxRequestConcurrency {spec.MaxRequestConcurrency}");

    private static string ToTitle(string status) =>
        status.Length == 0 ? status : string.Concat(status[..1], status[1..].ToLowerInvariant());

    public static ResourcePropertySnapshot Property(string name, object? value, string displayName) =>
        new(name, value) { DisplayName = displayName };

    private static ImmutableArray<ResourcePropertySnapshot> WithoutInstances(ImmutableArray<ResourcePropertySnapshot> properties) =>
        properties.RemoveAll(p => p.Name == NvcfFunctionProperties.InstanceCount || p.Name.StartsWith(NvcfFunctionProperties.InstancePrefix, StringComparison.Ordinal));

    /// <summary>Sets properties by name; a null value removes the property.</summary>
    public static ImmutableArray<ResourcePropertySnapshot> Merge(ImmutableArray<ResourcePropertySnapshot> properties, params ReadOnlySpan<ResourcePropertySnapshot> updates)
    {
        var builder = properties.ToBuilder();
        foreach (var update in updates)
        {
            builder.RemoveAll(p => p.Name == update.Name);
            if (update.Value is not null)
            {
                builder.Add(update);
            }
        }

        return builder.ToImmutable();
    }

    /// <summary>A function's operation gate (one command at a time) and its current watch.</summary>
    private sealed class FunctionRun
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public CancellationTokenSource? Watch { get; set; }
    }
}
