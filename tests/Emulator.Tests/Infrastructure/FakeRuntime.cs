using System.Collections.Concurrent;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Tests.Infrastructure;

/// <summary>
/// A runtime without Docker for the in-process API tests. Every "container" is served by one shared
/// <see cref="FakeContainerServer"/>; the image name picks the behaviour:
/// <c>fake/echo</c> starts and is healthy, <c>fake/missing</c> cannot be pulled, <c>fake/crash</c> exits at once.
/// </summary>
public sealed class FakeRuntime(FakeContainerServer server) : IFunctionRuntime
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InstanceObservation>> _running = new();

    public const string Echo = "fake/echo";
    public const string Missing = "fake/missing";
    public const string Crash = "fake/crash";

    public IReadOnlyCollection<string> Running => [.. _running.Keys];

    public ConcurrentBag<InstanceSpec> Started { get; } = [];

    public Task<RuntimeInstance> StartAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        if (spec.Image == Missing)
        {
            throw new InstanceStartException($"Image '{spec.Image}' was not found locally and could not be pulled: pull access denied");
        }

        Started.Add(spec);
        spec.Folders.Create();
        var id = "fake-" + spec.InstanceId.ToString("N");
        var exit = new TaskCompletionSource<InstanceObservation>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (spec.Image == Crash)
        {
            exit.SetResult(new InstanceObservation(InstanceRunState.Exited, 3));
        }

        _running[id] = exit;
        var endpoints = spec.Ports.Distinct().ToDictionary(p => p, _ => server.Address);
        return Task.FromResult(new RuntimeInstance(id, id, "sha256:" + new string('0', 64), endpoints));
    }

    public Task<InstanceObservation> ObserveAsync(RuntimeInstance instance, CancellationToken cancellationToken) =>
        Task.FromResult(_running.TryGetValue(instance.ContainerId, out var exit)
            ? exit.Task.IsCompleted ? exit.Task.Result : InstanceObservation.Running
            : InstanceObservation.Missing);

    public Task<InstanceObservation> WaitForExitAsync(RuntimeInstance instance, CancellationToken cancellationToken) =>
        _running.TryGetValue(instance.ContainerId, out var exit)
            ? exit.Task.WaitAsync(cancellationToken)
            : Task.FromResult(InstanceObservation.Missing);

    public Task<string> ReadLogTailAsync(RuntimeInstance instance, int lines, CancellationToken cancellationToken) =>
        Task.FromResult("boom: the model file is missing");

    public Task RemoveAsync(RuntimeInstance instance, CancellationToken cancellationToken)
    {
        _running.TryRemove(instance.ContainerId, out _);
        return Task.CompletedTask;
    }

    public Task<int> ReapStaleAsync(CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>Makes a running instance exit, as if its process had crashed.</summary>
    public void Kill(string containerId) =>
        _running[containerId].TrySetResult(new InstanceObservation(InstanceRunState.Exited, 137));
}
