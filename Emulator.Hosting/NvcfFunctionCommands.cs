using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>
/// The operations on a function or version (Deploy, Undeploy, Redeploy, Restart instances, Replace an instance): the dashboard commands
/// that start them, the deploy of every resource when its emulator turns ready, and the gate that runs one operation
/// at a time per resource. Operations end with the emulator's run; a function's ID, once known, is handed to its
/// versions, which wait for it.
/// </summary>
internal sealed class NvcfFunctionCommands(
    NvcfFunctionProvisioner provisioner,
    NvcfDeploymentWatcher watcher,
    NvcfFunctionDashboard dashboard,
    NvcfContainerLogs containerLogs,
    IHttpClientFactory httpClientFactory,
    IHostApplicationLifetime lifetime) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<NvcfEmulatorResource, CancellationTokenSource> _runs = [];
    private readonly Dictionary<NvcfFunctionResource, ResourceRun> _resources = [];

    /// <summary>What an operation does.</summary>
    public enum Operation
    {
        Deploy,
        Undeploy,
        Redeploy,
        Restart,
    }

    /// <summary>Adds the commands to a function or version resource.</summary>
    public static IResourceBuilder<NvcfFunctionResource> AddTo(IResourceBuilder<NvcfFunctionResource> builder)
    {
        AddCommand(
            builder,
            NvcfFunctionProperties.DeployCommand,
            "Deploy",
            "Deploys (creating the function or version first if needed, rebuilding its image if it has a Dockerfile).",
            "CloudArrowUp",
            confirmation: null,
            Operation.Deploy);
        AddCommand(
            builder,
            NvcfFunctionProperties.UndeployCommand,
            "Undeploy",
            "Removes the deployment and its containers; the function and version remain.",
            "CloudDismiss",
            confirmation: $"Undeploy '{builder.Resource.Name}' and stop its containers?",
            Operation.Undeploy);
        AddCommand(
            builder,
            NvcfFunctionProperties.RedeployCommand,
            "Redeploy",
            "Undeploys and deploys again: new containers run the image as it is now (rebuilt first if it has a Dockerfile).",
            "ArrowSync",
            confirmation: null,
            Operation.Redeploy);
        AddCommand(
            builder,
            NvcfFunctionProperties.RestartCommand,
            "Restart instances",
            "Replaces the running containers: undeploys and deploys the same specification and image (no rebuild); the function and version remain.",
            "ArrowClockwise",
            confirmation: null,
            Operation.Restart);
        var resource = builder.Resource;
        builder.WithCommand(
            NvcfFunctionProperties.ReplaceInstanceCommand,
            "Replace an instance",
            context => context.Services.GetRequiredService<NvcfFunctionCommands>().ReplaceInstanceAsync(resource, context.CancellationToken),
            new CommandOptions
            {
                Description = "Stops the oldest instance (its container is removed); the next instance replaces it, as after a crash.",
                IconName = "ArrowSwap",
                IconVariant = IconVariant.Regular,
                UpdateState = context => CommandState(NvcfFunctionProperties.ReplaceInstanceCommand, context.ResourceSnapshot),
            });
        return builder;
    }

    /// <summary>Deletes the resource's oldest instance through the API; the emulator starts the next one.</summary>
    public async Task<ExecuteCommandResult> ReplaceInstanceAsync(NvcfFunctionResource function, CancellationToken cancellationToken)
    {
        if (function.FunctionId is not { } functionId || function.VersionId is not { } versionId)
        {
            return CommandResults.Failure($"'{function.Name}' is not deployed.");
        }

        try
        {
            using var client = await NvcfEmulatorClient.CreateAsync(httpClientFactory, function.Emulator, cancellationToken);
            var version = await client.GetFunctionVersionAsync(functionId, versionId, cancellationToken);
            if (version.ActiveInstances?.OrderBy(i => i.InstanceCreatedAt).FirstOrDefault() is not { } oldest)
            {
                return CommandResults.Failure($"'{function.Name}' has no instance to replace.");
            }

            await client.DeleteInstanceAsync(oldest.InstanceId, cancellationToken);
            return CommandResults.Success($"Instance {oldest.InstanceId} stopped; the next instance replaces it.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return CommandResults.Canceled();
        }
        catch (HttpRequestException e)
        {
            return CommandResults.Failure(e.Message);
        }
    }

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
            NvcfFunctionProperties.UndeployCommand or NvcfFunctionProperties.RestartCommand
                or NvcfFunctionProperties.ReplaceInstanceCommand => hasDeployment,
            _ => true,
        };
        return enabled ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;
    }

    /// <summary>
    /// Starts deploying every function and version of the emulator in the background (the emulator's ready event must
    /// not wait for containers); versions wait for their function's ID.
    /// </summary>
    public void OnEmulatorReady(NvcfEmulatorResource emulator, IReadOnlyList<NvcfFunctionResource> functions)
    {
        var run = new CancellationTokenSource();
        lock (_lock)
        {
            if (_runs.Remove(emulator, out var previous))
            {
                previous.Cancel();
                previous.Dispose();
            }

            _runs[emulator] = run;
            foreach (var function in functions)
            {
                RunOf(function).Created = NewCreatedSource();
            }
        }

        foreach (var function in functions)
        {
            _ = Task.Run(() => RunAsync(function, Operation.Deploy, CancellationToken.None), CancellationToken.None);
        }
    }

    /// <summary>The emulator stopped: its operations and watches end, and its functions show Exited, their IDs forgotten.</summary>
    public async Task OnEmulatorStoppedAsync(NvcfEmulatorResource emulator, IEnumerable<NvcfFunctionResource> functions)
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
            watcher.Stop(function);
            containerLogs.StopAll(function);
            function.FunctionId = null;
            function.VersionId = null;
            await dashboard.ExitedAsync(function);
        }
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
        }
    }

    /// <summary>Runs an operation once the resource's previous one has ended; the result is the command's.</summary>
    public async Task<ExecuteCommandResult> RunAsync(NvcfFunctionResource function, Operation operation, CancellationToken commandToken)
    {
        CancellationToken runToken;
        ResourceRun resourceRun;
        TaskCompletionSource<Guid> created;
        Task<Guid>? functionCreated;
        lock (_lock)
        {
            if (!_runs.TryGetValue(function.Emulator, out var run))
            {
                return CommandResults.Failure($"The emulator '{function.Emulator.Name}' is not running.");
            }

            runToken = run.Token;
            resourceRun = RunOf(function);
            if (resourceRun.Created.Task.IsFaulted || resourceRun.Created.Task.IsCanceled)
            {
                // A new attempt after a failed one: versions that wait from now on wait for this one.
                resourceRun.Created = NewCreatedSource();
            }

            created = resourceRun.Created;
            functionCreated = function.Function is { } parent ? RunOf(parent).Created.Task : null;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(runToken, commandToken, lifetime.ApplicationStopping);
        var cancellationToken = linked.Token;
        try
        {
            await resourceRun.Gate.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return CommandResults.Canceled();
        }

        string? error = null;
        try
        {
            watcher.Stop(function);
            using var client = await NvcfEmulatorClient.CreateAsync(httpClientFactory, function.Emulator, cancellationToken);
            var message = operation switch
            {
                Operation.Undeploy => await provisioner.UndeployAsync(client, function, cancellationToken),
                Operation.Redeploy => await provisioner.DeployAsync(client, function, NvcfDeployKind.Redeploy, functionCreated, cancellationToken),
                Operation.Restart => await provisioner.DeployAsync(client, function, NvcfDeployKind.Restart, functionCreated, cancellationToken),
                _ => await provisioner.DeployAsync(client, function, NvcfDeployKind.Deploy, functionCreated, cancellationToken),
            };
            if (operation != Operation.Undeploy)
            {
                watcher.Start(function, runToken);
            }

            return CommandResults.Success(message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The emulator stopped, the app host is shutting down or the caller gave up.
            return CommandResults.Canceled();
        }
        catch (Exception e)
        {
            error = e.Message;
            await dashboard.FailAsync(function, e.Message);
            return CommandResults.Failure(e.Message);
        }
        finally
        {
            if (function.FunctionId is { } functionId)
            {
                created.TrySetResult(functionId);
            }
            else if (error is not null)
            {
                created.TrySetException(new InvalidOperationException(error));
            }
            else if (cancellationToken.IsCancellationRequested && runToken.IsCancellationRequested)
            {
                created.TrySetCanceled(runToken);
            }

            resourceRun.Gate.Release();
        }
    }

    private static void AddCommand(
        IResourceBuilder<NvcfFunctionResource> builder,
        string name,
        string displayName,
        string description,
        string iconName,
        string? confirmation,
        Operation operation)
    {
        var function = builder.Resource;
        builder.WithCommand(
            name,
            displayName,
            context => context.Services.GetRequiredService<NvcfFunctionCommands>().RunAsync(function, operation, context.CancellationToken),
            new CommandOptions
            {
                Description = description,
                IconName = iconName,
                IconVariant = IconVariant.Regular,
                ConfirmationMessage = confirmation,
                UpdateState = context => CommandState(name, context.ResourceSnapshot),
            });
    }

    private ResourceRun RunOf(NvcfFunctionResource function)
    {
        if (!_resources.TryGetValue(function, out var run))
        {
            run = _resources[function] = new ResourceRun();
        }

        return run;
    }

    private static TaskCompletionSource<Guid> NewCreatedSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A resource's operation gate (one operation at a time) and the signal of its function ID for its versions.</summary>
    private sealed class ResourceRun
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public TaskCompletionSource<Guid> Created { get; set; } = NewCreatedSource();
    }
}
