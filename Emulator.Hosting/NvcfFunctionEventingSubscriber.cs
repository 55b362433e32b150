using System.Collections.Immutable;
using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Eventing;
using Aspire.Hosting.Lifecycle;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>
/// Creates and deploys each <see cref="NvcfFunctionResource"/> through its emulator's API when the emulator
/// turns ready (<see cref="ResourceReadyEvent"/>), again after each restart of the emulator, and publishes the
/// function's progress as its dashboard state: Waiting, Deploying, then Running (NVCF status ACTIVE) or
/// FailedToStart (ERROR, with the emulator's reason).
/// </summary>
internal sealed class NvcfFunctionEventingSubscriber(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    ResourceLoggerService resourceLoggers,
    IHttpClientFactory httpClientFactory,
    IHostApplicationLifetime lifetime,
    ILogger<NvcfFunctionEventingSubscriber> logger) : IDistributedApplicationEventingSubscriber, IDisposable
{
    /// <summary>The name of the HttpClient used for the emulator's API (registered without request logging).</summary>
    public const string HttpClientName = "nvcf-emulator-api";

    private const string EmulatorEndpointName = "http";
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(30);

    private static readonly ResourceStateSnapshot s_deploying = new(NvcfFunctionProperties.DeployingState, KnownResourceStateStyles.Info);
    private static readonly ResourceStateSnapshot s_active = new(KnownResourceStates.Running, KnownResourceStateStyles.Success);
    private static readonly ResourceStateSnapshot s_failed = new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error);

    private readonly Lock _lock = new();
    private readonly Dictionary<ProjectResource, CancellationTokenSource> _runs = [];

    public Task SubscribeAsync(IDistributedApplicationEventing eventing, DistributedApplicationExecutionContext executionContext, CancellationToken cancellationToken)
    {
        if (!executionContext.IsRunMode)
        {
            return Task.CompletedTask;
        }

        foreach (var function in model.Resources.OfType<NvcfFunctionResource>())
        {
            eventing.Subscribe<InitializeResourceEvent>(function, (_, _) => PublishDefinitionAsync(function));
        }

        foreach (var group in model.Resources.OfType<NvcfFunctionResource>().GroupBy(f => f.Emulator))
        {
            var emulator = group.Key;
            var functions = group.ToArray();
            eventing.Subscribe<ResourceReadyEvent>(emulator, (_, _) => OnEmulatorReady(emulator, functions));
            eventing.Subscribe<ResourceStoppedEvent>(emulator, (_, _) => OnEmulatorStoppedAsync(emulator, functions));
        }

        return Task.CompletedTask;
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

    /// <summary>Shows what will be deployed, before anything is.</summary>
    private Task PublishDefinitionAsync(NvcfFunctionResource function)
    {
        var spec = function.Deployment;
        return notifications.PublishUpdateAsync(function, s => s with
        {
            Properties = Merge(
                s.Properties,
                new ResourcePropertySnapshot(CustomResourceKnownProperties.Source, function.Image),
                Property(NvcfFunctionProperties.InferenceUrl, $"{function.InferenceUrl} on port {function.InferencePort}", "Inference URL"),
                Property(NvcfFunctionProperties.Deployment, Describe(spec), "Deployment")),
        });
    }

    /// <summary>Starts deploying every function of the emulator in the background: the emulator's ready event must not wait for containers.</summary>
    private Task OnEmulatorReady(ProjectResource emulator, NvcfFunctionResource[] functions)
    {
        var cancellationToken = StartRun(emulator);
        foreach (var function in functions)
        {
            _ = Task.Run(() => DeployAsync(emulator, function, cancellationToken), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    private async Task OnEmulatorStoppedAsync(ProjectResource emulator, NvcfFunctionResource[] functions)
    {
        StopRun(emulator);
        foreach (var function in functions)
        {
            function.FunctionId = null;
            function.VersionId = null;
            await notifications.PublishUpdateAsync(function, s => s with
            {
                State = KnownResourceStates.Exited,
                StopTimeStamp = DateTime.UtcNow,
                Urls = [],
            });
        }
    }

    private async Task DeployAsync(ProjectResource emulator, NvcfFunctionResource function, CancellationToken cancellationToken)
    {
        var resourceLogger = resourceLoggers.GetLogger(function);
        try
        {
            var endpoint = emulator.GetEndpoint(EmulatorEndpointName);
            if (!endpoint.Exists)
            {
                throw new InvalidOperationException(
                    $"The emulator resource '{emulator.Name}' has no '{EmulatorEndpointName}' endpoint: give it one (WithHttpEndpoint) or a launch profile with an http applicationUrl.");
            }

            var baseAddress = new Uri(endpoint.Url);
            using var http = httpClientFactory.CreateClient(HttpClientName);
            http.Timeout = s_requestTimeout;
            var client = new NvcfEmulatorClient(http, baseAddress);

            await notifications.PublishUpdateAsync(function, s => s with
            {
                State = s_deploying,
                StartTimeStamp = DateTime.UtcNow,
                StopTimeStamp = null,
                Urls = [],
                Properties = Merge(
                    s.Properties,
                    Property(NvcfFunctionProperties.FunctionId, null, "Function ID"),
                    Property(NvcfFunctionProperties.VersionId, null, "Version ID"),
                    Property(NvcfFunctionProperties.FunctionStatus, null, "NVCF status"),
                    Property(NvcfFunctionProperties.Error, null, "Error")),
            });

            NvcfLog.CreatingFunction(resourceLogger, function.Name, function.Image, baseAddress);
            var created = await client.CreateFunctionAsync(function, cancellationToken);
            function.FunctionId = created.Id;
            function.VersionId = created.VersionId;
            var invokeUrl = new Uri(baseAddress, $"/v2/nvcf/pexec/functions/{created.Id}").ToString();
            NvcfLog.FunctionCreated(resourceLogger, created.Id, created.VersionId);
            await notifications.PublishUpdateAsync(function, s => s with
            {
                Urls = [new UrlSnapshot("invoke", invokeUrl, IsInternal: false)],
                Properties = Merge(
                    s.Properties,
                    Property(NvcfFunctionProperties.FunctionId, created.Id.ToString(), "Function ID"),
                    Property(NvcfFunctionProperties.VersionId, created.VersionId.ToString(), "Version ID"),
                    Property(NvcfFunctionProperties.InvokeUrl, invokeUrl, "Invoke (POST)")),
            });

            NvcfLog.Deploying(resourceLogger, Describe(function.Deployment));
            var deployment = await client.DeployAsync(created.Id, created.VersionId, function.Deployment, cancellationToken);
            string? lastStatus = null;
            while (true)
            {
                var status = deployment.FunctionStatus;
                if (status != lastStatus)
                {
                    lastStatus = status;
                    NvcfLog.StatusChanged(resourceLogger, status);
                    await PublishStatusAsync(function, status);
                }

                if (status is "ACTIVE" or "ERROR")
                {
                    break;
                }

                await Task.Delay(s_pollInterval, cancellationToken);
                deployment = await client.GetDeploymentAsync(created.Id, created.VersionId, cancellationToken);
            }

            if (deployment.FunctionStatus == "ACTIVE")
            {
                var curl = $"curl -X POST {invokeUrl} -H \"Authorization: Bearer {NvcfEmulatorClient.BearerToken}\" -H \"Content-Type: application/json\" -d '{{\"hello\":\"nvcf\"}}'";
                NvcfLog.FunctionActive(resourceLogger, function.Name, curl);
                NvcfLog.FunctionActive(logger, function.Name, curl);
                await notifications.PublishUpdateAsync(function, s => s with { State = s_active });
            }
            else
            {
                var error = deployment.HealthInfo?.Select(h => h.Error).FirstOrDefault(e => !string.IsNullOrEmpty(e))
                    ?? "The emulator reported the deployment as ERROR without a reason.";
                await FailAsync(function, resourceLogger, error);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The emulator stopped or the app host is shutting down.
        }
        catch (Exception e)
        {
            await FailAsync(function, resourceLogger, e.Message);
        }
    }

    private Task PublishStatusAsync(NvcfFunctionResource function, string status) =>
        notifications.PublishUpdateAsync(function, s => s with
        {
            // ACTIVE and ERROR become Running and FailedToStart once their details are published.
            State = status is "ACTIVE" or "ERROR" or "DEPLOYING" ? s.State : new ResourceStateSnapshot(ToTitle(status), KnownResourceStateStyles.Warn),
            Properties = Merge(s.Properties, Property(NvcfFunctionProperties.FunctionStatus, status, "NVCF status")),
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

    private CancellationToken StartRun(ProjectResource emulator)
    {
        var run = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        lock (_lock)
        {
            if (_runs.Remove(emulator, out var previous))
            {
                previous.Cancel();
                previous.Dispose();
            }

            _runs[emulator] = run;
        }

        return run.Token;
    }

    private void StopRun(ProjectResource emulator)
    {
        lock (_lock)
        {
            if (_runs.Remove(emulator, out var run))
            {
                run.Cancel();
                run.Dispose();
            }
        }
    }

    private static string Describe(NvcfDeploymentSpecification spec) => string.Create(
        CultureInfo.InvariantCulture,
        $"{spec.Gpu} {spec.InstanceType}, instances {spec.MinInstances}..{spec.MaxInstances}, maxRequestConcurrency {spec.MaxRequestConcurrency}");

    private static string ToTitle(string status) =>
        status.Length == 0 ? status : string.Concat(status[..1], status[1..].ToLowerInvariant());

    private static ResourcePropertySnapshot Property(string name, object? value, string displayName) =>
        new(name, value) { DisplayName = displayName };

    /// <summary>Sets properties by name; a null value removes the property.</summary>
    private static ImmutableArray<ResourcePropertySnapshot> Merge(ImmutableArray<ResourcePropertySnapshot> properties, params ReadOnlySpan<ResourcePropertySnapshot> updates)
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
}
