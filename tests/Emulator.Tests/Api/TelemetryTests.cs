using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>An invocation is one trace that reaches the function, and it is counted.</summary>
[Collection(TelemetryCollection.Name)]
public class TelemetryTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    [Fact]
    public async Task AnInvocationIsOneTraceFromThePexecRequestThroughTheForwardToTheFunction()
    {
        var activities = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is EmulatorTelemetry.Name or "Microsoft.AspNetCore" or "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var traced = await fixture.Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "traced", inferenceUrl: "/headers"));
        await fixture.Http.DeployAsync(traced);
        await fixture.Http.WaitForStatusAsync(traced, TimeSpan.FromSeconds(20), "ACTIVE");

        using var response = await fixture.Http.InvokeAsync(traced.Id(), "{}");
        var seen = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var requestId = response.Header("NVCF-REQID");

        var forward = Assert.Single(activities, a => a.OperationName == "nvcf.forward" && (a.GetTagItem("nvcf.request.id") as Guid?)?.ToString() == requestId);
        Assert.Equal(traced.VersionId(), forward.GetTagItem("nvcf.function.version.id"));
        var traceparent = (string?)seen["traceparent"];
        Assert.NotNull(traceparent);
        Assert.Contains(forward.TraceId.ToHexString(), traceparent);
        const string ServerSpan = "Microsoft.AspNetCore.Hosting.HttpRequestIn";
        var pexec = Assert.Single(activities, a => a.SpanId == forward.ParentSpanId);
        Assert.Equal(ServerSpan, pexec.OperationName);

        // The HTTP call to the instance, and the function's own server span (the fake container runs in this
        // process), belong to the same trace, one under the other.
        var call = Assert.Single(activities, a => a.ParentSpanId == forward.SpanId && a.TraceId == forward.TraceId);
        var function = Assert.Single(activities, a => a.ParentSpanId == call.SpanId && a.TraceId == forward.TraceId);
        Assert.Equal(ServerSpan, function.OperationName);
    }

    [Fact]
    public async Task InvocationsAreCountedByVersionAndStatus()
    {
        var counted = new ConcurrentBag<(long Value, string? Version, int? Status)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == EmulatorTelemetry.Name && instrument.Name == "nvcf.invocations")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? version = null;
            int? status = null;
            foreach (var tag in tags)
            {
                version = tag.Key == "nvcf.function.version.id" ? tag.Value as string : version;
                status = tag.Key == "http.response.status_code" ? tag.Value as int? : status;
            }

            counted.Add((value, version, status));
        });
        listener.Start();

        var function = await fixture.Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "counted"));
        await fixture.Http.DeployAsync(function);
        await fixture.Http.WaitForStatusAsync(function, TimeSpan.FromSeconds(20), "ACTIVE");
        for (var i = 0; i < 3; i++)
        {
            (await fixture.Http.InvokeAsync(function.Id(), "{}")).Dispose();
        }

        Assert.Equal(3, counted.Where(c => c.Version == function.VersionId().ToString() && c.Status == 200).Sum(c => c.Value));
    }
}

/// <summary>Listeners are process-wide: these tests run on their own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "Telemetry";
}
