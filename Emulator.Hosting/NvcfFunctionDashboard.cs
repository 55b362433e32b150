using System.Collections.Immutable;
using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>
/// Publishes a function's (or version's) dashboard state: its state text, its properties (definition, IDs, NVCF
/// status, GPU placement, error, instances) and its invoke URLs, and writes the matching lines to its log and, for
/// ACTIVE and failures, to the app host's console. Every snapshot change of a function resource goes through here.
/// </summary>
internal sealed class NvcfFunctionDashboard(
    ResourceNotificationService notifications,
    ResourceLoggerService resourceLoggers,
    ILogger<NvcfFunctionDashboard> logger)
{
    public static readonly ResourceStateSnapshot Waiting = new(KnownResourceStates.Waiting, KnownResourceStateStyles.Info);
    public static readonly ResourceStateSnapshot Building = new(NvcfFunctionProperties.BuildingState, KnownResourceStateStyles.Info);
    public static readonly ResourceStateSnapshot Deploying = new(NvcfFunctionProperties.DeployingState, KnownResourceStateStyles.Info);
    public static readonly ResourceStateSnapshot Undeploying = new(NvcfFunctionProperties.UndeployingState, KnownResourceStateStyles.Info);
    public static readonly ResourceStateSnapshot Undeployed = new(NvcfFunctionProperties.UndeployedState, KnownResourceStateStyles.Info);
    private static readonly ResourceStateSnapshot s_active = new(KnownResourceStates.Running, KnownResourceStateStyles.Success);
    private static readonly ResourceStateSnapshot s_failed = new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error);

    /// <summary>The resource's own log (the dashboard's console view of the resource).</summary>
    public ILogger LoggerFor(NvcfFunctionResource function) => resourceLoggers.GetLogger(function);

    /// <summary>Shows what will be deployed, before anything is.</summary>
    public Task PublishDefinitionAsync(NvcfFunctionResource function) =>
        notifications.PublishUpdateAsync(function, s => s with
        {
            Properties = Merge(
                s.Properties,
                new ResourcePropertySnapshot(CustomResourceKnownProperties.Source, function.Image),
                Property(NvcfFunctionProperties.InferenceUrl, $"{function.InferenceUrl} on port {function.InferencePort}", "Inference URL"),
                Property(NvcfFunctionProperties.Deployment, Describe(function.Deployment), "Deployment"),
                Property(
                    NvcfFunctionProperties.Dockerfile,
                    function.ImageBuild is { } build ? Path.Combine(build.ContextPath, build.Dockerfile) : null,
                    "Dockerfile")),
        });

    /// <summary>An operation starts: the resource has started (if it had not) and its last error is cleared.</summary>
    public Task StartingAsync(NvcfFunctionResource function) =>
        notifications.PublishUpdateAsync(function, s => s with
        {
            StartTimeStamp = s.StartTimeStamp ?? DateTime.UtcNow,
            StopTimeStamp = null,
            Properties = Merge(s.Properties, Property(NvcfFunctionProperties.Error, null, "Error")),
        });

    public Task StateAsync(NvcfFunctionResource function, ResourceStateSnapshot state) =>
        notifications.PublishUpdateAsync(function, s => s with { State = state });

    /// <summary>The function and version IDs are known: shows them and the invoke URLs (by function ID, and of this version).</summary>
    public Task CreatedAsync(NvcfFunctionResource function, Uri baseAddress, Guid functionId, Guid versionId)
    {
        var invokeUrl = InvokeUrl(baseAddress, functionId);
        var versionUrl = new Uri(baseAddress, $"/v2/nvcf/pexec/functions/{functionId}/versions/{versionId}").ToString();
        return notifications.PublishUpdateAsync(function, s => s with
        {
            Urls =
            [
                new UrlSnapshot("invoke", invokeUrl, IsInternal: false) { DisplayProperties = new("Invoke (any deployed version)", 0) },
                new UrlSnapshot("invoke-version", versionUrl, IsInternal: false) { DisplayProperties = new("Invoke this version", 1) },
            ],
            Properties = Merge(
                s.Properties,
                Property(NvcfFunctionProperties.FunctionId, functionId.ToString(), "Function ID"),
                Property(NvcfFunctionProperties.VersionId, versionId.ToString(), "Version ID"),
                Property(NvcfFunctionProperties.InvokeUrl, invokeUrl, "Invoke (POST)")),
        });
    }

    /// <summary>A deployment was requested: its first status; the previous instances are gone.</summary>
    public Task DeploymentRequestedAsync(NvcfFunctionResource function, string functionStatus) =>
        notifications.PublishUpdateAsync(function, s => s with
        {
            Properties = Merge(WithoutInstances(s.Properties), Property(NvcfFunctionProperties.FunctionStatus, functionStatus, "NVCF status")),
        });

    /// <summary>The deployment was removed by a command: Undeployed, INACTIVE, no instances.</summary>
    public Task UndeployedAsync(NvcfFunctionResource function)
    {
        NvcfLog.StatusChanged(LoggerFor(function), "INACTIVE");
        return notifications.PublishUpdateAsync(function, s => s with
        {
            State = Undeployed,
            Properties = Merge(
                WithoutInstances(s.Properties),
                Property(NvcfFunctionProperties.FunctionStatus, "INACTIVE", "NVCF status"),
                Property(NvcfFunctionProperties.Error, null, "Error")),
        });
    }

    /// <summary>The version's running instances: a count, then one property per instance.</summary>
    public Task InstancesAsync(NvcfFunctionResource function, IReadOnlyList<NvcfInstanceDto> instances) =>
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

    /// <summary>ACTIVE: Running, with the curl line that invokes it (by function ID) in its log and on the app host's console.</summary>
    public Task ActiveAsync(NvcfFunctionResource function, Uri baseAddress, string bearerToken, Guid functionId, string? placement)
    {
        var curl = $"curl -X POST {InvokeUrl(baseAddress, functionId)} -H \"Authorization: Bearer {bearerToken}\" -H \"Content-Type: application/json\" -d '{{\"hello\":\"nvcf\"}}'";
        NvcfLog.FunctionActive(LoggerFor(function), function.Name, curl);
        NvcfLog.FunctionActive(logger, function.Name, curl);
        return notifications.PublishUpdateAsync(function, s => s with
        {
            State = s_active,
            Properties = Merge(
                s.Properties,
                Property(NvcfFunctionProperties.FunctionStatus, "ACTIVE", "NVCF status"),
                Property(NvcfFunctionProperties.Error, null, "Error"),
                Property(NvcfFunctionProperties.GpuPlacement, placement, "GPU")),
        });
    }

    /// <summary>The emulator reports the deployment as ERROR: FailedToStart with the emulator's reason.</summary>
    public async Task DeploymentErrorAsync(NvcfFunctionResource function, string? placement, string error)
    {
        await notifications.PublishUpdateAsync(function, s => s with
        {
            Properties = Merge(
                s.Properties,
                Property(NvcfFunctionProperties.FunctionStatus, "ERROR", "NVCF status"),
                Property(NvcfFunctionProperties.GpuPlacement, placement, "GPU")),
        });
        await FailAsync(function, error);
    }

    /// <summary>Any other NVCF status: INACTIVE shows Undeployed, DEPLOYING Deploying, the rest their own name.</summary>
    public Task StatusAsync(NvcfFunctionResource function, string status) =>
        notifications.PublishUpdateAsync(function, s => s with
        {
            State = status switch
            {
                "INACTIVE" => Undeployed,
                "DEPLOYING" => Deploying,
                _ => new ResourceStateSnapshot(ToTitle(status), KnownResourceStateStyles.Warn),
            },
            Properties = Merge(s.Properties, Property(NvcfFunctionProperties.FunctionStatus, status, "NVCF status")),
        });

    /// <summary>FailedToStart with the error, in the resource's log and on the app host's console.</summary>
    public async Task FailAsync(NvcfFunctionResource function, string error)
    {
        NvcfLog.FunctionFailed(LoggerFor(function), function.Name, error);
        NvcfLog.FunctionFailed(logger, function.Name, error);
        await notifications.PublishUpdateAsync(function, s => s with
        {
            State = s_failed,
            Properties = Merge(s.Properties, Property(NvcfFunctionProperties.Error, error, "Error")),
        });
    }

    /// <summary>The emulator stopped: Exited, no URLs, no instances.</summary>
    public Task ExitedAsync(NvcfFunctionResource function) =>
        notifications.PublishUpdateAsync(function, s => s with
        {
            State = KnownResourceStates.Exited,
            StopTimeStamp = DateTime.UtcNow,
            Urls = [],
            Properties = WithoutInstances(s.Properties),
        });

    /// <summary>The deployment specification in one line.</summary>
    public static string Describe(NvcfDeploymentSpecification spec) => string.Create(
        CultureInfo.InvariantCulture,
        $"{spec.Gpu} {spec.InstanceType}, instances {spec.MinInstances}..{spec.MaxInstances}, maxRequestConcurrency {spec.MaxRequestConcurrency}");

    /// <summary>Invocations by function ID: any deployed version of the function answers.</summary>
    public static string InvokeUrl(Uri baseAddress, Guid functionId) =>
        new Uri(baseAddress, $"/v2/nvcf/pexec/functions/{functionId}").ToString();

    public static ResourcePropertySnapshot Property(string name, object? value, string displayName) =>
        new(name, value) { DisplayName = displayName };

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

    private static ImmutableArray<ResourcePropertySnapshot> WithoutInstances(ImmutableArray<ResourcePropertySnapshot> properties) =>
        properties.RemoveAll(p => p.Name == NvcfFunctionProperties.InstanceCount || p.Name.StartsWith(NvcfFunctionProperties.InstancePrefix, StringComparison.Ordinal));

    private static string ToTitle(string status) =>
        status.Length == 0 ? status : string.Concat(status[..1], status[1..].ToLowerInvariant());
}
