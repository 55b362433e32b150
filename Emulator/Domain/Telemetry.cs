namespace Nvcf.Emulator.Domain;

/// <summary>
/// A telemetry endpoint of an account (docs/nvcf-contract.md#telemetries): where a function's logs, metrics or traces
/// go. Its name is its secret's name; the secret itself is never returned.
/// </summary>
public sealed record Telemetry
{
    public required Guid TelemetryId { get; init; }

    /// <summary>The account the telemetry belongs to: only its keys see it, and only its functions may name it.</summary>
    public required string NcaId { get; init; }

    public required string Name { get; init; }
    public required string Endpoint { get; init; }
    public required TelemetryProtocol Protocol { get; init; }
    public required TelemetryProvider Provider { get; init; }
    public required IReadOnlyList<TelemetryType> Types { get; init; }
    public required Secret Secret { get; init; }
    public required DateTime CreatedAt { get; init; }
}

public enum TelemetryProtocol
{
    Http,
    Grpc,
}

/// <summary>The cloud's providers. Only <see cref="OtelCollector"/> receives OTLP as the function sends it.</summary>
public enum TelemetryProvider
{
    Prometheus,
    GrafanaCloud,
    Splunk,
    Datadog,
    Servicenow,
    Kratos,
    KratosThanos,
    Timestream,
    Victoriametrics,
    AzureMonitor,
    OtelCollector,
}

public enum TelemetryType
{
    Logs,
    Metrics,
    Traces,
}
