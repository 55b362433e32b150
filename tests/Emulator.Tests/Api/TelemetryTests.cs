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

        var function = await fixture.Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "traced", inferenceUrl: "/headers"));
        await fixture.Http.DeployAsync(function);
        await fixture.Http.WaitForStatusAsync(function, TimeSpan.FromSeconds(20), "ACTIVE");

        using var response = await fixture.Http.InvokeAsync(function.Id(), "{}");
        var seen = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var requestId = response.Header("NVCF-REQID");

        var forward = Assert.Single(activities, a => a.OperationName == "nvcf.forward" && (a.GetTagItem("nvcf.request.id") as Guid?)?.ToString() == requestId);
        Assert.Equal(function.VersionId(), forward.GetTagItem("nvcf.function.version.id"));
        var traceparent = (string?)seen["traceparent"];
        Assert.NotNull(traceparent);
        Assert.Contains(forward.TraceId.ToHexString(), traceparent);
        var pexec = Assert.Single(activities, a => a.DisplayName.StartsWith("POST /v2/nvcf/pexec", StringComparison.Ordinal) && a.TraceId == forward.TraceId);
        Assert.Equal(pexec.SpanId, forward.ParentSpanId);

        // The function's own server span (the fake container runs in this process) belongs to the same trace.
        Assert.Single(activities, a => a.DisplayName == "POST /headers" && a.TraceId == forward.TraceId);
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
