using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Api.Contracts;

/// <summary>
/// Body of <c>POST /v2/nvcf/telemetries</c> (docs/nvcf-contract.md#telemetries). The enums are read as text so that a
/// value outside the cloud's lists is answered naming its field.
/// </summary>
public sealed record TelemetryRequest(string? Endpoint, string? Protocol, string? Provider, List<string>? Types, SecretDto? Secret);

/// <summary>A telemetry as the API returns it (<c>TelemetryDto</c>): never its secret.</summary>
public sealed record TelemetryDto(
    Guid TelemetryId, string Name, string Endpoint, TelemetryProtocol Protocol, TelemetryProvider Provider, IReadOnlyList<TelemetryType> Types, DateTime CreatedAt)
{
    public static TelemetryDto From(Telemetry t) => new(t.TelemetryId, t.Name, t.Endpoint, t.Protocol, t.Provider, t.Types, t.CreatedAt);
}

public sealed record TelemetryResponse(TelemetryDto Telemetry);

public sealed record ListTelemetryResponse(IReadOnlyList<TelemetryDto> Telemetries);

/// <summary>Body of <c>PUT /v2/nvcf/secrets/telemetries/{telemetryId}</c>.</summary>
public sealed record UpdateTelemetrySecretRequest(SecretDto? Secret);
