using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Otlp;

namespace Nvcf.Emulator.Runtime;

/// <summary>
/// The environment of a function container (docs/nvcf-contract.md#environment-variables): the user's entries plus the
/// reserved <c>NVCF_*</c> variables, and with telemetries the OpenTelemetry exporter's variables
/// (docs/nvcf-contract.md#telemetry-in-the-container).
/// </summary>
public static class InstanceEnvironment
{
    public const string Backend = "local";
    public const string Region = "local";
    public const string Env = "local";

    public static IReadOnlyDictionary<string, string> For(FunctionVersion version, GpuSpecification spec, Guid instanceId = default, InstanceTelemetry? telemetry = null)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in version.ContainerEnvironment)
        {
            environment[entry.Key] = entry.Value;
        }

        // NVCF_* names are reserved: the platform's values win over the user's.
        environment["NVCF_BACKEND"] = spec.Backend ?? Backend;
        environment["NVCF_ENV"] = Env;
        environment["NVCF_FUNCTION_ID"] = version.Id.ToString();
        environment["NVCF_FUNCTION_NAME"] = version.Name;
        environment["NVCF_FUNCTION_VERSION_ID"] = version.VersionId.ToString();
        environment["NVCF_INSTANCETYPE"] = spec.InstanceType;
        environment["NVCF_NCA_ID"] = version.NcaId;
        environment["NVCF_REGION"] = Region;
        if (telemetry is not null)
        {
            AddTelemetry(environment, version, spec, instanceId, telemetry);
        }

        return environment;
    }

    /// <summary>
    /// The cloud's per-signal variables (<c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>, <c>…_PROTOCOL</c>; an HTTP endpoint
    /// with the signal's path), the general endpoint and protocol (the traces telemetry's, else metrics', else logs'),
    /// the service name (the function's name) and the resource attributes the cloud's collector adds. The user's own
    /// entries win, as in the cloud.
    /// </summary>
    private static void AddTelemetry(Dictionary<string, string> environment, FunctionVersion version, GpuSpecification spec, Guid instanceId, InstanceTelemetry telemetry)
    {
        var general = telemetry.Traces ?? telemetry.Metrics ?? telemetry.Logs;
        if (general is null)
        {
            return;
        }

        foreach (var (signal, export) in new[] { ("LOGS", telemetry.Logs), ("METRICS", telemetry.Metrics), ("TRACES", telemetry.Traces) })
        {
            if (export is not null)
            {
                environment.TryAdd($"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", export.Protocol == TelemetryProtocol.Grpc
                    ? export.Endpoint
                    : export.Endpoint + "/v1/" + signal.ToLowerInvariant());
                environment.TryAdd($"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", ProtocolName(export.Protocol));
            }
        }

        environment.TryAdd("OTEL_EXPORTER_OTLP_ENDPOINT", general.Endpoint);
        environment.TryAdd("OTEL_EXPORTER_OTLP_PROTOCOL", ProtocolName(general.Protocol));
        environment.TryAdd("OTEL_SERVICE_NAME", version.Name);
        environment.TryAdd("OTEL_RESOURCE_ATTRIBUTES", string.Join(',',
            $"service.instance.id={instanceId}",
            $"function_id={version.Id}",
            $"function_version_id={version.VersionId}",
            $"instance_id={instanceId}",
            $"nca_id={version.NcaId}",
            $"instance_type={spec.InstanceType}"));
    }

    /// <summary>The SDKs' names: <c>grpc</c>, <c>http/protobuf</c> (the cloud writes <c>http</c>, which SDKs do not read).</summary>
    private static string ProtocolName(TelemetryProtocol protocol) => protocol == TelemetryProtocol.Grpc ? "grpc" : "http/protobuf";
}
