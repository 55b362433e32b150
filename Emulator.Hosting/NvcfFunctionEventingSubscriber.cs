using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Eventing;
using Aspire.Hosting.Lifecycle;

namespace Aspire.Hosting;

/// <summary>
/// Ties function and version resources to their emulator's lifecycle: shows each one's definition when it is
/// initialized, deploys them all when the emulator turns ready (<see cref="ResourceReadyEvent"/>), again after each
/// restart of the emulator, and shows them Exited when it stops. The work is the <see cref="NvcfFunctionCommands"/>'.
/// </summary>
internal sealed class NvcfFunctionEventingSubscriber(
    DistributedApplicationModel model,
    NvcfFunctionDashboard dashboard,
    NvcfFunctionCommands commands) : IDistributedApplicationEventingSubscriber
{
    public Task SubscribeAsync(IDistributedApplicationEventing eventing, DistributedApplicationExecutionContext executionContext, CancellationToken cancellationToken)
    {
        if (!executionContext.IsRunMode)
        {
            return Task.CompletedTask;
        }

        foreach (var function in model.Resources.OfType<NvcfFunctionResource>())
        {
            eventing.Subscribe<InitializeResourceEvent>(function, (_, _) => dashboard.PublishDefinitionAsync(function));
        }

        foreach (var group in model.Resources.OfType<NvcfFunctionResource>().GroupBy(f => f.Emulator))
        {
            var emulator = group.Key;
            var functions = group.ToArray();
            eventing.Subscribe<ResourceReadyEvent>(emulator, (_, _) =>
            {
                commands.OnEmulatorReady(emulator, functions);
                return Task.CompletedTask;
            });
            eventing.Subscribe<ResourceStoppedEvent>(emulator, (_, _) => commands.OnEmulatorStoppedAsync(emulator, functions));
        }

        return Task.CompletedTask;
    }
}
