using System.Diagnostics;
using System.Diagnostics.Metrics;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Diagnostics;

/// <summary>
/// The emulator's traces and metrics, under one name. An invocation is one trace: the pexec request (ASP.NET
/// Core), the wait for an instance slot, the forward to the instance (and the function's own spans, since W3C trace
/// context goes with the request).
/// </summary>
public sealed class EmulatorTelemetry : IDisposable
{
    public const string Name = "Nvcf.Emulator";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>Seconds, from a few milliseconds (a quick function) to minutes (a long inference or a 202).</summary>
    private static readonly IReadOnlyList<double> DurationBuckets =
        [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300, 600, 1200];

    private static readonly Orchestration.InstanceState[] InstanceStates = Enum.GetValues<Orchestration.InstanceState>();

    private readonly Meter _meter;
    private readonly Counter<long> _invocations;
    private readonly Histogram<double> _duration;

    public EmulatorTelemetry(IMeterFactory meters, FunctionRouter router, DeploymentOrchestrator orchestrator)
    {
        _meter = meters.Create(Name);
        _invocations = _meter.CreateCounter<long>("nvcf.invocations", "{invocation}", "Invocations answered, by function version and HTTP status.");
        _duration = _meter.CreateHistogram(
            "nvcf.invocation.duration",
            "s",
            "Time from an invocation's arrival to the end of its answer (or to its 202).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _meter.CreateObservableGauge(
            "nvcf.queue.depth",
            () => router.AllRoutes().Select(r => new Measurement<int>(r.Pool.QueueDepth, VersionTags(r))),
            "{request}",
            "Requests waiting for an instance slot.");
        _meter.CreateObservableGauge(
            "nvcf.instances",
            () => router.AllRoutes().SelectMany(r =>
            {
                // Every state, with 0 for those no instance is in, so a state left behind does not keep its last count.
                var instances = orchestrator.InstancesOf(r.Version.VersionId);
                return InstanceStates.Select(state => new Measurement<int>(
                    instances.Count(i => i.State == state),
                    [.. VersionTags(r), new("nvcf.instance.state", state.ToString().ToUpperInvariant())]));
            }),
            "{instance}",
            "Instances of deployed function versions, by state.");
    }

    /// <summary>Starts the span of the wait for an instance slot (null when nobody listens).</summary>
    public static Activity? StartSlotWait(VersionRoute route, Guid requestId) =>
        Start("nvcf.slot.wait", route, requestId);

    /// <summary>Starts the span of the forward to an instance.</summary>
    public static Activity? StartForward(VersionRoute route, Guid requestId, Guid instanceId)
    {
        var activity = Start("nvcf.forward", route, requestId);
        activity?.SetTag("nvcf.instance.id", instanceId);
        return activity;
    }

    /// <summary>Counts an answered invocation (<paramref name="version"/> is null when none was chosen).</summary>
    public void RecordInvocation(Domain.FunctionVersion? version, int statusCode, TimeSpan elapsed)
    {
        if (!_invocations.Enabled && !_duration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "nvcf.function.name", version?.Name },
            { "nvcf.function.version.id", version?.VersionId.ToString() },
            { "http.response.status_code", statusCode },
        };
        _invocations.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void Dispose() => _meter.Dispose();

    private static Activity? Start(string name, VersionRoute route, Guid requestId)
    {
        var activity = Source.StartActivity(name, ActivityKind.Internal);
        activity?.SetTag("nvcf.function.id", route.Version.Id)
            .SetTag("nvcf.function.name", route.Version.Name)
            .SetTag("nvcf.function.version.id", route.Version.VersionId)
            .SetTag("nvcf.request.id", requestId);
        return activity;
    }

    private static KeyValuePair<string, object?>[] VersionTags(VersionRoute route) =>
    [
        new("nvcf.function.name", route.Version.Name),
        new("nvcf.function.version.id", route.Version.VersionId.ToString()),
    ];
}
