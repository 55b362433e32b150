using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// The life of one instance: start its container, probe until the health check passes (quickly at first, so a
/// version turns ACTIVE soon after its container is ready), then keep probing it every
/// <see cref="EmulatorOptions.HealthCheckInterval"/> until it exits, fails
/// <see cref="EmulatorOptions.HealthCheckFailureThreshold"/> checks in a row, or is stopped.
/// Each step is reported to the owning <see cref="VersionSupervisor"/>.
/// </summary>
internal sealed class InstanceRunner(
    InstanceSpec spec,
    GpuSpecification gpuSpecification,
    HealthCheck health,
    IFunctionRuntime runtime,
    HealthProber prober,
    EmulatorOptions options,
    ILogger logger)
{
    private const int LogTailLines = 20;

    /// <summary>Ends the cause of a failure whose container exited (or was removed) before it was ready.</summary>
    public const string EndedBeforeReady = "before its health check passed";
    private static readonly TimeSpan FirstProbeDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxStartupProbeDelay = TimeSpan.FromMilliseconds(500);

    private readonly CancellationTokenSource _stop = new();
    private Task? _run;
    private bool _adopted;

    public Guid InstanceId => spec.InstanceId;

    public GpuSpecification GpuSpecification => gpuSpecification;

    public InstanceFolders Folders => spec.Folders;

    public InstanceState State { get; private set; } = InstanceState.Starting;

    public RuntimeInstance? Container { get; private set; }

    public DateTime CreatedAt { get; } = DateTime.UtcNow;

    public DateTime UpdatedAt { get; private set; } = DateTime.UtcNow;

    /// <summary>Last time the instance had a request in flight (or became ready).</summary>
    public DateTime LastBusyAt { get; set; } = DateTime.UtcNow;

    public void Start(Action<InstanceRunner, InstanceEvent> report) => _run = RunAsync(report, _stop.Token);

    /// <summary>
    /// Takes over a container a previous emulator left running (call before <see cref="Start"/>): no new container;
    /// it is probed and put in service like a new one. If it never becomes healthy it is replaced, as a lost one.
    /// </summary>
    public void Adopt(RuntimeInstance container)
    {
        Container = container;
        _adopted = true;
    }

    /// <summary>Stops watching but leaves the container (and its folders) for the next emulator to adopt.</summary>
    public async Task DetachAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            await _run;
        }

        _stop.Dispose();
    }

    /// <summary>Stops watching and removes the container.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            await _run;
        }

        if (Container is { } container)
        {
            await runtime.RemoveAsync(container, CancellationToken.None);
            logger.InstanceRemoved(container.Name);
        }

        spec.Folders.Delete();
        SetState(InstanceState.Terminated);
        _stop.Dispose();
    }

    private async Task RunAsync(Action<InstanceRunner, InstanceEvent> report, CancellationToken stop)
    {
        await Task.Yield();
        try
        {
            Container ??= await runtime.StartAsync(spec, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return;
        }
        catch (InstanceStartException e)
        {
            Fail(report, e.Message, wasReady: false);
            return;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or System.Net.Sockets.SocketException)
        {
            Fail(report, $"The Docker engine could not be reached: {e.Message.TrimEnd('.')}. Start Docker, or point DOCKER_HOST (or Emulator__Docker__Endpoint) at a running engine, then deploy again.", wasReady: false);
            return;
        }
        catch (Exception e)
        {
            // Whatever else the start threw is still this instance's failure, for the user to see: the run never
            // faults, so stopping the instance (an undeploy, a delete, the shutdown) always completes.
            Fail(report, $"The instance could not be started: {e.Message}", wasReady: false);
            return;
        }

        try
        {
            var exit = runtime.WaitForExitAsync(Container, stop);
            var cause = await WaitUntilHealthyAsync(Container, exit, stop);
            if (cause is not null)
            {
                Fail(report, cause, wasReady: _adopted);
                return;
            }

            SetState(InstanceState.Active);
            LastBusyAt = DateTime.UtcNow;
            report(this, InstanceEvent.Ready);

            var (outOfService, stillRunning) = await WatchWhileReadyAsync(Container, exit, stop);
            SetState(InstanceState.Errored);
            report(this, new InstanceEvent(stillRunning ? InstanceEventKind.Unhealthy : InstanceEventKind.Lost, outOfService));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            Fail(report, $"Lost track of container '{Container.Name}': {e.Message}", wasReady: State == InstanceState.Active);
        }
        catch (Exception)
        {
            // Stopping: whoever stops the instance removes its container; there is no one left to tell.
        }
    }

    /// <summary>Probes until healthy; returns null then, or why the instance will never be ready.</summary>
    private async Task<string?> WaitUntilHealthyAsync(RuntimeInstance container, Task<InstanceObservation> exit, CancellationToken stop)
    {
        var deadline = DateTime.UtcNow + options.ReadyTimeout;
        var delay = FirstProbeDelay;
        var last = "no answer yet";
        while (true)
        {
            if (exit.IsCompleted)
            {
                return await DescribeExitAsync(container, await exit, EndedBeforeReady);
            }

            var probe = await prober.ProbeAsync(container, health, stop);
            if (probe.IsHealthy)
            {
                logger.InstanceReady(container.Name, DateTime.UtcNow - CreatedAt);
                return null;
            }

            last = probe.Detail;
            if (DateTime.UtcNow > deadline)
            {
                return $"Health check ({health.Description}) did not pass within {options.ReadyTimeout}; last result: {last}.";
            }

            await Task.WhenAny(exit, Task.Delay(delay, stop));
            stop.ThrowIfCancellationRequested();
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxStartupProbeDelay.Ticks));
        }
    }

    /// <summary>
    /// Probes a ready instance on the cloud's interval until its container exits or its health check fails the
    /// threshold number of times in a row; returns why it is out of service, and whether its container still runs.
    /// A passing check resets the count.
    /// </summary>
    private async Task<(string Cause, bool StillRunning)> WatchWhileReadyAsync(RuntimeInstance container, Task<InstanceObservation> exit, CancellationToken stop)
    {
        var failures = 0;
        while (true)
        {
            await Task.WhenAny(exit, Task.Delay(options.HealthCheckInterval, stop));
            stop.ThrowIfCancellationRequested();
            if (exit.IsCompleted)
            {
                return (await DescribeExitAsync(container, await exit, "after it was ready"), false);
            }

            var probe = await prober.ProbeAsync(container, health, stop);
            if (probe.IsHealthy)
            {
                failures = 0;
                continue;
            }

            if (exit.IsCompleted)
            {
                return (await DescribeExitAsync(container, await exit, "after it was ready"), false);
            }

            failures++;
            logger.InstanceProbeFailed(container.Name, failures, options.HealthCheckFailureThreshold, probe.Detail);
            if (failures >= options.HealthCheckFailureThreshold)
            {
                return ($"Health check ({health.Description}) failed {failures} times in a row, {options.HealthCheckInterval.TotalSeconds:0.###} s apart; "
                    + $"last result: {probe.Detail}.", true);
            }
        }
    }

    private async Task<string> DescribeExitAsync(RuntimeInstance container, InstanceObservation ended, string when)
    {
        var logs = await runtime.ReadLogTailAsync(container, LogTailLines, CancellationToken.None);
        var how = ended.State == InstanceRunState.Missing
            ? $"Container '{container.Name}' was removed {when}."
            : $"Container '{container.Name}' exited with code {ended.ExitCode} {when}.";
        if (ended.Error is not null)
        {
            how += $" Engine: {ended.Error}.";
        }

        return string.IsNullOrWhiteSpace(logs) ? how : $"{how} Last log lines:\n{logs}";
    }

    private void Fail(Action<InstanceRunner, InstanceEvent> report, string cause, bool wasReady)
    {
        SetState(InstanceState.Errored);
        report(this, new InstanceEvent(wasReady ? InstanceEventKind.Lost : InstanceEventKind.Failed, cause));
    }

    private void SetState(InstanceState state)
    {
        State = state;
        UpdatedAt = DateTime.UtcNow;
    }
}

/// <summary>Instance states as NVCF names them (<c>InstanceDto.instanceStatus</c>).</summary>
public enum InstanceState
{
    Starting,
    Active,
    Errored,
    Terminated,
}

internal enum InstanceEventKind
{
    /// <summary>The health check passed.</summary>
    Ready,

    /// <summary>The instance never became ready.</summary>
    Failed,

    /// <summary>A ready instance stopped.</summary>
    Lost,

    /// <summary>A ready instance failed its health check too many times in a row; its container still runs.</summary>
    Unhealthy,
}

internal sealed record InstanceEvent(InstanceEventKind Kind, string? Cause = null)
{
    public static readonly InstanceEvent Ready = new(InstanceEventKind.Ready);
}
