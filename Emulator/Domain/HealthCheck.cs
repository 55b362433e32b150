namespace Nvcf.Emulator.Domain;

/// <summary>How the platform decides that an instance is ready (NVCF <c>HealthDto</c>).</summary>
public sealed record HealthCheck(HealthProtocol Protocol, string Uri, int Port, TimeSpan Timeout, int ExpectedStatusCode)
{
    public const int DefaultPort = 8000;
    public const string DefaultUri = "/v2/health/ready";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    public const int DefaultExpectedStatusCode = 200;

    /// <summary>What is probed, for messages: <c>GET /v2/health/ready on port 8000</c> or <c>grpc.health.v1 on port 8001</c>.</summary>
    public string Description => Protocol == HealthProtocol.Grpc
        ? $"grpc.health.v1 on port {Port}"
        : $"GET {Uri} on port {Port}";

    /// <summary>
    /// The check used when a function is created without <c>health</c>: HTTP (gRPC for <c>/grpc</c>
    /// functions) on <c>inferencePort</c> or 8000, at <c>healthUri</c> or <c>/v2/health/ready</c>.
    /// </summary>
    public static HealthCheck Default(string inferenceUrl, int? inferencePort, string? healthUri) => new(
        inferenceUrl is "/grpc" or "grpc" ? HealthProtocol.Grpc : HealthProtocol.Http,
        string.IsNullOrWhiteSpace(healthUri) ? DefaultUri : healthUri,
        inferencePort ?? DefaultPort,
        DefaultTimeout,
        DefaultExpectedStatusCode);
}

public enum HealthProtocol
{
    Http,

    /// <summary>Written <c>gRPC</c> on the wire, as the control plane spells it.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("gRPC")]
    Grpc,
}
