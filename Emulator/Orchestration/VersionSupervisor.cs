using System.Threading.Channels;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Routing;
using Nvcf.Emulator.Runtime;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// Keeps one deployed version's instances matching its deployment: <c>minInstances</c> per GPU specification,
/// more (up to <c>maxInstances</c>) while requests wait for a slot, idle extras stopped after a quiet period,
/// an instance that exits or stops passing its health check taken out of rotation and replaced. Derives the
/// version's status from its instances and reports it, with the cause of a failure or a loss in <c>healthInfo</c>.
/// All decisions are taken on one loop, so no locks are needed for the instance list.
/// </summary>
internal sealed class VersionSupervisor : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private readonly IFunctionRuntime _runtime;
    private readonly HealthProber _prober;
    private readonly IFunctionStore _store;
    private readonly EmulatorOptions _options;
    private readonly ILogger _logger;
    private readonly string? _stateId;
    private readonly Otlp.InstanceTelemetry? _telemetry;
    private readonly Channel<Signal> _signals = Channel.CreateUnbounded<Signal>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _stopLock = new();
    private readonly Lock _secretsLock = new();
    // The folders the secrets go to, kept with them under _secretsLock: an update from the API thread must reach an
    // instance started on the loop a moment before (not yet in _snapshot), and none started after.
    private readonly Dictionary<Guid, InstanceFolders> _secretsReaders = [];
    private IReadOnlyList<Secret> _secrets;
    private Task? _stopped;
    private readonly List<InstanceRunner> _instances = [];
    // Unhealthy instances whose containers are still being stopped; touched only on the loop, awaited once it has ended.
    private readonly List<Task> _stopping = [];
    private volatile IReadOnlyList<InstanceRunner> _snapshot = [];
    private volatile Deployment _deployment;
    private Task _loop = Task.CompletedTask;
    private volatile bool _retired;
    private bool _everReady;
    private string? _failure;
    private DeploymentHealth? _loss;
    private IReadOnlyList<DeploymentHealth> _reportedHealth = [];

    public VersionSupervisor(
        FunctionVersion version,
        Deployment deployment,
        IFunctionRuntime runtime,
        HealthProber prober,
        IFunctionStore store,
        EmulatorOptions options,
        ILogger logger,
        string? stateId = null,
        Otlp.InstanceTelemetry? telemetry = null)
    {
        Route = new VersionRoute(version)
        {
            Status = InitialStatus(deployment),
            RateLimiter = VersionRateLimiter.Create(version.RateLimit),
        };
        _deployment = deployment;
        _runtime = runtime;
        _prober = prober;
        _store = store;
        _options = options;
        _logger = logger;
        _stateId = stateId;
        _telemetry = telemetry;
        _secrets = version.Secrets;
        Route.Pool.RequestQueued += () => _signals.Writer.TryWrite(Signal.Demand);
    }

    public VersionRoute Route { get; }

    /// <summary>
    /// DEPLOYING, or ACTIVE at once when every specification scales from zero
    /// (docs/nvcf-contract.md#function-statuses).
    /// </summary>
    public static FunctionStatus InitialStatus(Deployment deployment) =>
        deployment.ScalesFromZero ? FunctionStatus.Active : FunctionStatus.Deploying;

    public FunctionVersion Version => Route.Version;

    public Deployment Deployment => _deployment;

    /// <summary>A consistent copy of the instances, for readers outside the loop.</summary>
    public IReadOnlyList<InstanceRunner> Instances => _snapshot;

    public void Start() => _loop = RunAsync(_stop.Token);

    /// <summary>
    /// Takes over a running container a previous emulator on the same store left (call before <see cref="Start"/>):
    /// it counts as one of its GPU specification's instances and serves once its health check passes.
    /// </summary>
    public void Adopt(RuntimeContainer container)
    {
        var spec = _deployment.Specifications.FirstOrDefault(s => s.GpuSpecificationId == container.GpuSpecificationId)
            ?? _deployment.Specifications[0];
        var runner = new InstanceRunner(
            InstanceSpec.For(Version, _deployment, spec, _options.WorkDirectory, _stateId, container.InstanceId, _telemetry),
            spec, Version.Health, _runtime, _prober, _options, _logger);
        runner.Adopt(container.Instance);
        GiveSecrets(runner);
        _instances.Add(runner);
        _snapshot = [.. _instances];
        _logger.InstanceAdopting(container.Instance.Name, Version.Name, Version.VersionId);
        runner.Start((instance, e) => _signals.Writer.TryWrite(new Signal(instance, e)));
    }

    /// <summary>
    /// Stops supervising but leaves the containers running, for the next emulator on the same durable store to
    /// adopt. Waiting requests fail. Returns how many instances were left.
    /// </summary>
    public async Task<int> DetachAsync()
    {
        var count = 0;
        await OnceAsync(async () =>
        {
            Retire();
            Route.Pool.Close(new InstancePoolClosedException("The emulator is shutting down."));
            await _stop.CancelAsync();
            await _loop;
            var instances = TakeInstances();
            count = instances.Count;
            await Task.WhenAll(instances.Select(i => i.DetachAsync()).Concat(_stopping));
        });
        return count;
    }

    public void Update(Deployment deployment)
    {
        _deployment = deployment;
        _signals.Writer.TryWrite(Signal.Changed);
    }

    /// <summary>
    /// Stops and removes one instance (the cloud's <c>DELETE /v2/nvcf/instances/{instanceId}</c>) on the loop: it leaves
    /// the rotation, its container is removed, and the next reconcile replaces it as after a crash (the version is
    /// DEGRADING meanwhile). False when the version has no such instance or no longer runs.
    /// </summary>
    public async Task<bool> TerminateAsync(Guid instanceId, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var signal = new Signal(null, null) { Terminate = instanceId, Done = done };
        if (_stopped is not null || !_signals.Writer.TryWrite(signal))
        {
            return false;
        }

        // A supervisor stopped meanwhile never reads the signal: its end answers false.
        await Task.WhenAny(done.Task, _loop).WaitAsync(cancellationToken);
        return done.Task.IsCompletedSuccessfully && done.Task.Result;
    }

    /// <summary>Takes the version out of service: INACTIVE, no new invocations; queued and running requests go on.</summary>
    public void Retire()
    {
        _retired = true;
        Route.Status = FunctionStatus.Inactive;
    }

    /// <summary>Whether requests are still queued or in flight.</summary>
    public bool IsBusy => Route.Pool.QueueDepth > 0 || Route.Pool.InFlight > 0;

    /// <summary>Waits until no request is queued or in flight (a graceful undeploy).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (IsBusy)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    /// <summary>
    /// Stops the loop and removes every instance; waiting requests fail with <paramref name="reason"/>. An undeploy and
    /// the emulator's shutdown may both ask: the second waits for the first.
    /// </summary>
    public Task StopAsync(string reason) => OnceAsync(async () =>
    {
        Retire();
        Route.Pool.Close(new InstancePoolClosedException(reason));
        await _stop.CancelAsync();
        await _loop;
        await Task.WhenAll(TakeInstances().Select(i => i.StopAsync()).Concat(_stopping));
    });

    public async ValueTask DisposeAsync()
    {
        await StopAsync("The emulator is shutting down.");
        _stop.Dispose();
    }

    /// <summary>Runs the first stop (or detach) asked for; later callers get the same task.</summary>
    private Task OnceAsync(Func<Task> stop)
    {
        lock (_stopLock)
        {
            return _stopped ??= stop();
        }
    }

    /// <summary>The instances, taken out of the supervisor (its loop has ended).</summary>
    private List<InstanceRunner> TakeInstances()
    {
        var instances = _instances.ToList();
        _instances.Clear();
        _snapshot = [];
        lock (_secretsLock)
        {
            _secretsReaders.Clear();
        }

        return instances;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        await Task.Yield();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (_failure is null)
                {
                    await ReconcileAsync();
                }

                await ReportAsync(stop);
                await WaitForSignalAsync(stop);
                while (_signals.Reader.TryRead(out var signal))
                {
                    await HandleAsync(signal);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _logger.SupervisorFailed(e, Version.Name, Version.VersionId);
        }
    }

    private async Task WaitForSignalAsync(CancellationToken stop)
    {
        using var tick = CancellationTokenSource.CreateLinkedTokenSource(stop);
        tick.CancelAfter(Tick);
        try
        {
            await _signals.Reader.WaitToReadAsync(tick.Token);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(Signal signal)
    {
        if (signal.Terminate is { } terminate)
        {
            signal.Done?.TrySetResult(await TerminateOnLoopAsync(terminate));
            return;
        }

        if (signal.Instance is { } instance && !_instances.Contains(instance))
        {
            return; // already removed
        }

        switch (signal.Event?.Kind)
        {
            case InstanceEventKind.Ready:
                var container = signal.Instance!.Container!;
                Route.Pool.Add(
                    new InstanceTarget(
                        signal.Instance.InstanceId,
                        container.Endpoints[Version.EffectiveInferencePort],
                        signal.Instance.GpuSpecification.InstanceType,
                        signal.Instance.GpuSpecification.Backend ?? InstanceEnvironment.Backend,
                        signal.Instance.Folders),
                    signal.Instance.GpuSpecification.MaxRequestConcurrency);
                _everReady = true;
                break;

            case InstanceEventKind.Failed:
                // An instance that never became ready fails the deployment, with the cause where the user looks.
                _logger.InstanceFailed(Version.Name, Version.VersionId, signal.Event.Cause!);
                await RemoveAsync(signal.Instance!);
                await FailAsync(signal.Event.Cause!);
                break;

            case InstanceEventKind.Lost or InstanceEventKind.Unhealthy:
                // A ready instance that stops, or stops passing its health check, leaves the rotation at once and is
                // replaced on the next reconcile; requests wait for the replacement. The version is DEGRADING meanwhile.
                _logger.InstanceLost(Version.Name, Version.VersionId, signal.Event.Cause!);
                var lost = signal.Instance!.GpuSpecification;
                _loss = new DeploymentHealth(lost.Gpu, lost.Backend, lost.InstanceType, signal.Event.Cause!);
                if (signal.Event.Kind == InstanceEventKind.Lost)
                {
                    await RemoveAsync(signal.Instance);
                }
                else
                {
                    // Its container still runs: it is stopped gracefully (requests on it may finish) while the
                    // replacement starts, rather than after the container's stop timeout.
                    Forget(signal.Instance);
                    _stopping.RemoveAll(t => t.IsCompleted);
                    _stopping.Add(StopInBackgroundAsync(signal.Instance));
                }

                break;
        }
    }

    /// <summary>Starts and stops instances so each GPU specification has what it needs.</summary>
    private async Task ReconcileAsync()
    {
        var specifications = _deployment.Specifications;
        var now = DateTime.UtcNow;

        foreach (var instance in _instances.Where(i => Route.Pool.InFlightOn(i.InstanceId) > 0))
        {
            instance.LastBusyAt = now;
        }

        // Instances of specifications that no longer exist.
        foreach (var orphan in _instances.Where(i => specifications.All(s => s.GpuSpecificationId != i.GpuSpecification.GpuSpecificationId)).ToList())
        {
            await RemoveAsync(orphan);
        }

        foreach (var spec in specifications)
        {
            var mine = _instances.Where(i => i.GpuSpecification.GpuSpecificationId == spec.GpuSpecificationId).ToList();

            // Above the maximum (after a PATCH), or idle extras above the minimum.
            var surplus = mine.Count - spec.MaxInstances;
            var idle = mine
                .Where(i => i.State == InstanceState.Active && Route.Pool.InFlightOn(i.InstanceId) == 0)
                .OrderBy(i => i.LastBusyAt)
                .ToList();
            var idleExtras = Math.Min(
                mine.Count - spec.MinInstances,
                idle.Count(i => now - i.LastBusyAt > _options.IdleInstanceTimeout && Route.Pool.QueueDepth == 0));
            foreach (var instance in idle.Take(Math.Max(surplus, idleExtras)))
            {
                _logger.InstanceScaledDown(Version.Name, instance.Container?.Name ?? instance.InstanceId.ToString());
                await RemoveAsync(instance);
                mine.Remove(instance);
            }

            // Up to the minimum, plus one more at a time while requests wait and nothing is starting.
            var missing = spec.MinInstances - mine.Count;
            var starting = mine.Count(i => i.State == InstanceState.Starting);
            if (missing <= 0 && Route.Pool.QueueDepth > 0 && starting == 0 && mine.Count < spec.MaxInstances
                && spec == specifications.First(s => _instances.Count(i => i.GpuSpecification.GpuSpecificationId == s.GpuSpecificationId) < s.MaxInstances))
            {
                missing = 1;
            }

            for (var i = 0; i < missing; i++)
            {
                StartInstance(spec);
            }
        }

        _snapshot = [.. _instances];
    }

    private async Task<bool> TerminateOnLoopAsync(Guid instanceId)
    {
        if (_instances.FirstOrDefault(i => i.InstanceId == instanceId) is not { } instance)
        {
            return false;
        }

        var name = instance.Container?.Name ?? instanceId.ToString();
        var cause = $"Instance {instanceId} was deleted";
        _logger.InstanceDeleted(Version.Name, Version.VersionId, name);
        var spec = instance.GpuSpecification;
        _loss = new DeploymentHealth(spec.Gpu, spec.Backend, spec.InstanceType, cause);
        await RemoveAsync(instance);
        return true;
    }

    private void StartInstance(GpuSpecification spec)
    {
        var runner = new InstanceRunner(
            InstanceSpec.For(Version, _deployment, spec, _options.WorkDirectory, _stateId, telemetry: _telemetry), spec, Version.Health, _runtime, _prober, _options, _logger);
        GiveSecrets(runner);
        _instances.Add(runner);
        _logger.InstanceStarting(Version.Name, Version.VersionId, runner.InstanceId);
        runner.Start((instance, e) => _signals.Writer.TryWrite(new Signal(instance, e)));
    }

    private async Task RemoveAsync(InstanceRunner instance)
    {
        Forget(instance);
        await instance.StopAsync();
    }

    /// <summary>Takes the instance out of rotation and out of the supervisor's count; its container is left to stop.</summary>
    private void Forget(InstanceRunner instance)
    {
        Route.Pool.Remove(instance.InstanceId);
        _instances.Remove(instance);
        _snapshot = [.. _instances];
        ForgetSecrets(instance);
    }

    /// <summary>Stops a forgotten instance while the loop goes on; awaited when the supervisor stops.</summary>
    private async Task StopInBackgroundAsync(InstanceRunner instance)
    {
        try
        {
            await instance.StopAsync();
        }
        catch (Exception e)
        {
            _logger.InstanceNotRemoved(instance.Container?.Name ?? instance.InstanceId.ToString(), e.Message);
        }
    }

    /// <summary>
    /// Replaces the secrets every instance reads from <c>/var/secrets/secrets.json</c>, at once for the running ones
    /// (docs/nvcf-contract.md#secrets-in-the-container: refreshed when secrets are updated) and for those started
    /// later.
    /// </summary>
    public void UpdateSecrets(IReadOnlyList<Secret> secrets)
    {
        lock (_secretsLock)
        {
            _secrets = secrets;
            foreach (var folders in _secretsReaders.Values)
            {
                folders.WriteSecrets(secrets);
            }
        }
    }

    /// <summary>Writes the current secrets into a new (or adopted) instance's folder, before its container starts.</summary>
    private void GiveSecrets(InstanceRunner instance)
    {
        lock (_secretsLock)
        {
            instance.Folders.WriteSecrets(_secrets);
            _secretsReaders[instance.InstanceId] = instance.Folders;
        }
    }

    private void ForgetSecrets(InstanceRunner instance)
    {
        lock (_secretsLock)
        {
            _secretsReaders.Remove(instance.InstanceId);
        }
    }

    private async Task FailAsync(string cause)
    {
        _failure = cause;
        Route.Pool.Close(new InstancePoolClosedException($"Function version '{Version.VersionId}' failed to deploy: {cause}"));
        foreach (var instance in _instances.ToList())
        {
            await RemoveAsync(instance);
        }
    }

    /// <summary>
    /// Derives the version's status (docs/nvcf-contract.md#function-statuses) and writes it to the store, with the
    /// cause in <c>healthInfo</c> while it is ERROR (why it failed, for each GPU specification) or DEGRADING (why the
    /// last instance was lost, for its own).
    /// </summary>
    private async Task ReportAsync(CancellationToken stop)
    {
        var ready = _instances.Count(i => i.State == InstanceState.Active);
        var required = Math.Max(1, _deployment.Specifications.Sum(s => s.MinInstances));
        var status = _failure is not null ? FunctionStatus.Error
            : _deployment.ScalesFromZero || ready >= required ? FunctionStatus.Active
            : _everReady ? FunctionStatus.Degrading
            : FunctionStatus.Deploying;
        if (status == FunctionStatus.Active)
        {
            _loss = null;
        }

        IReadOnlyList<DeploymentHealth> health = status switch
        {
            FunctionStatus.Error => [.. _deployment.Specifications.Select(s => new DeploymentHealth(s.Gpu, s.Backend, s.InstanceType, _failure!))],
            FunctionStatus.Degrading when _loss is not null => [_loss],
            _ => [],
        };
        if (_retired || (status == Route.Status && health.SequenceEqual(_reportedHealth)))
        {
            return;
        }

        if (status != Route.Status)
        {
            _logger.VersionStatusChanged(Version.Name, Version.VersionId, Route.Status, status);
        }

        Route.Status = status;
        _reportedHealth = health;
        await _store.UpdateVersionAsync(Version.Id, Version.VersionId, v => v with { Status = status }, stop);
        _deployment = await _store.UpdateDeploymentAsync(
            Version.VersionId,
            d => d with { HealthInfo = health, LastUpdatedAt = DateTime.UtcNow },
            stop) ?? _deployment;
    }

    private sealed record Signal(InstanceRunner? Instance, InstanceEvent? Event)
    {
        /// <summary>The instance to stop and remove (<see cref="TerminateAsync"/>), and whether it was found.</summary>
        public Guid? Terminate { get; init; }

        public TaskCompletionSource<bool>? Done { get; init; }

        public static readonly Signal Demand = new(null, null);
        public static readonly Signal Changed = new(null, null);
    }
}
