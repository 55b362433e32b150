using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Eventing;
using Aspire.Hosting.Lifecycle;

namespace Aspire.Hosting;

/// <summary>
/// Creates and deploys each <see cref="NvcfFunctionResource"/> through its emulator's API when the emulator
/// turns ready (<see cref="ResourceReadyEvent"/>), again after each restart of the emulator; the work and the
/// dashboard state are the <see cref="NvcfFunctionDeployer"/>'s.
/// </summary>
internal sealed class NvcfFunctionEventingSubscriber(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    NvcfFunctionDeployer deployer) : IDistributedApplicationEventingSubscriber
{
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
            eventing.Subscribe<ResourceReadyEvent>(emulator, (_, _) =>
            {
                deployer.OnEmulatorReady(emulator, functions);
                return Task.CompletedTask;
            });
            eventing.Subscribe<ResourceStoppedEvent>(emulator, (_, _) => deployer.OnEmulatorStoppedAsync(emulator, functions));
        }

        return Task.CompletedTask;
    }

    /// <summary>Shows what will be deployed, before anything is.</summary>
    private Task PublishDefinitionAsync(NvcfFunctionResource function) =>
        notifications.PublishUpdateAsync(function, s => s with
        {
            Properties = NvcfFunctionDeployer.Merge(
                s.Properties,
                new ResourcePropertySnapshot(CustomResourceKnownProperties.Source, function.Image),
                NvcfFunctionDeployer.Property(NvcfFunctionProperties.InferenceUrl, $"{function.InferenceUrl} on port {function.InferencePort}", "Inference URL"),
                NvcfFunctionDeployer.Property(NvcfFunctionProperties.Deployment, NvcfFunctionDeployer.Describe(function.Deployment), "Deployment"),
                NvcfFunctionDeployer.Property(
                    NvcfFunctionProperties.Dockerfile,
                    function.ImageBuild is { } build ? Path.Combine(build.ContextPath, build.Dockerfile) : null,
                    "Dockerfile")),
        });
}
