using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Otlp;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Tests.Unit;

/// <summary>The OTEL_* variables of an instance whose version names telemetries.</summary>
public class InstanceEnvironmentTests
{
    private static readonly GpuSpecification Spec = new()
    {
        GpuSpecificationId = Guid.NewGuid(),
        Gpu = "L40",
        InstanceType = "gl40_1.br20_2xlarge",
        MinInstances = 1,
        MaxInstances = 1,
    };

    [Fact]
    public void EachSignalGoesToItsOwnTelemetryAndTheGeneralEndpointIsTheTracesOne()
    {
        var telemetry = new InstanceTelemetry(
            new TelemetryExport("http://172.17.0.1:4001", TelemetryProtocol.Http),
            new TelemetryExport("http://172.17.0.1:4002", TelemetryProtocol.Grpc),
            new TelemetryExport("http://172.17.0.1:4003", TelemetryProtocol.Grpc));

        var environment = InstanceEnvironment.For(Version(), Spec, Guid.NewGuid(), telemetry);

        Assert.Equal("http://172.17.0.1:4001/v1/logs", environment["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]);
        Assert.Equal("http/protobuf", environment["OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"]);
        Assert.Equal("http://172.17.0.1:4002", environment["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
        Assert.Equal("grpc", environment["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"]);
        Assert.Equal("http://172.17.0.1:4003", environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        Assert.Equal("http://172.17.0.1:4003", environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("grpc", environment["OTEL_EXPORTER_OTLP_PROTOCOL"]);
    }

    [Fact]
    public void TheUsersOwnEntriesWinOverTheTelemetryVariables()
    {
        var version = Version() with
        {
            ContainerEnvironment = [new EnvironmentEntry("OTEL_SERVICE_NAME", "mine"), new EnvironmentEntry("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://elsewhere:4318/v1/traces")],
        };
        var telemetry = new InstanceTelemetry(null, null, new TelemetryExport("http://172.17.0.1:4003", TelemetryProtocol.Http));

        var environment = InstanceEnvironment.For(version, Spec, Guid.NewGuid(), telemetry);

        Assert.Equal("mine", environment["OTEL_SERVICE_NAME"]);
        Assert.Equal("http://elsewhere:4318/v1/traces", environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        Assert.Equal("http://172.17.0.1:4003", environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.False(environment.ContainsKey("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"));
    }

    [Fact]
    public void WithoutTelemetriesThereAreNoOtelVariables() =>
        Assert.DoesNotContain(InstanceEnvironment.For(Version(), Spec, Guid.NewGuid()).Keys, k => k.StartsWith("OTEL_", StringComparison.Ordinal));

    private static FunctionVersion Version() => new()
    {
        Id = Guid.NewGuid(),
        VersionId = Guid.NewGuid(),
        NcaId = "nca",
        Name = "fn",
        Description = "fn",
        InferenceUrl = "/infer",
        Health = HealthCheck.Default("/infer", null, null),
        CreatedAt = DateTime.UtcNow,
    };
}
