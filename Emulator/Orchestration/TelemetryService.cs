using System.Text.Json;
using Nvcf.Emulator.Api;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Orchestration;

/// <summary>
/// The rules of telemetry management (docs/nvcf-contract.md#telemetries), as the cloud's <c>TelemetryService</c> has
/// them: a telemetry belongs to the account that created it, and another account's answers as if it did not exist;
/// names (the secret's name) are unique in the account, at most <see cref="MaxTelemetries"/> per account, and one
/// that a function version names cannot be deleted. Every change validates first and applies all or nothing.
/// </summary>
public sealed class TelemetryService(IFunctionStore store, KeyedLock locks, Otlp.OtlpRelay relay)
{
    /// <summary>The cloud's default <c>maxTelemetriesAllowed</c> of an account.</summary>
    public const int MaxTelemetries = 25;

    private const string RequestObject = "telemetryRequest";

    /// <summary>Telemetry changes and the functions that name telemetries are serialised under this key.</summary>
    internal static readonly Guid LockKey = new("00000000-0000-4000-8000-0000007e1e00");

    public async Task<Outcome<Telemetry>> CreateAsync(string ncaId, TelemetryRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request, out var protocol, out var provider, out var types) is { } error)
        {
            return Rejection.Invalid(error);
        }

        using var _ = await locks.AcquireAsync(LockKey, cancellationToken);
        var existing = await ListAsync(ncaId, cancellationToken);
        if (existing.Count >= MaxTelemetries)
        {
            return Rejection.Invalid(
                $"Account '{ncaId}': Cannot create telemetry - maximum allowed telemetries ({MaxTelemetries}) exceeded. Current count: {existing.Count}");
        }

        var secret = request.Secret!.ToDomain();
        if (existing.Any(t => t.Name == secret.Name))
        {
            return Rejection.Invalid(
                $"Account '{ncaId}': Telemetry and corresponding secret with name '{secret.Name}' already exists in the account - Telemetries must have unique names within an account");
        }

        var telemetry = new Telemetry
        {
            TelemetryId = Guid.NewGuid(),
            NcaId = ncaId,
            Name = secret.Name,
            Endpoint = request.Endpoint!,
            Protocol = protocol,
            Provider = provider,
            Types = types,
            Secret = secret,
            CreatedAt = DateTime.UtcNow,
        };
        await store.AddTelemetryAsync(telemetry, cancellationToken);
        return telemetry;
    }

    /// <summary>The account's telemetries, oldest first.</summary>
    public async Task<IReadOnlyList<Telemetry>> ListAsync(string ncaId, CancellationToken cancellationToken) =>
        [.. (await store.ListTelemetriesAsync(cancellationToken)).Where(t => t.NcaId == ncaId)];

    public async Task<Outcome<Telemetry>> GetAsync(string ncaId, Guid telemetryId, CancellationToken cancellationToken) =>
        await FindAsync(store, ncaId, telemetryId, cancellationToken) is { } telemetry ? telemetry : NotFound(ncaId, telemetryId);

    /// <summary>
    /// Deletes a telemetry none of the account's function versions names, and stops its relay; else a 400 listing every
    /// version that does.
    /// </summary>
    public async Task<Outcome<Telemetry>> DeleteAsync(string ncaId, Guid telemetryId, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(LockKey, cancellationToken);
        if (await FindAsync(store, ncaId, telemetryId, cancellationToken) is not { } telemetry)
        {
            return NotFound(ncaId, telemetryId);
        }

        var users = (await store.ListVersionsAsync(null, cancellationToken))
            .Where(v => v.NcaId == ncaId && v.Telemetries is { } t && (t.LogsTelemetryId == telemetryId || t.MetricsTelemetryId == telemetryId || t.TracesTelemetryId == telemetryId))
            .Select(v => $"Telemetry '{telemetryId}': Cannot be deleted as it is in use by Function id '{v.Id}', version '{v.VersionId}' - Delete the function first to be able to delete the telemetry.")
            .ToList();
        if (users.Count > 0)
        {
            return Rejection.Invalid("[" + string.Join(", ", users) + "]");
        }

        await store.RemoveTelemetryAsync(telemetryId, cancellationToken);
        await relay.StopAsync(telemetryId);
        return telemetry;
    }

    /// <summary>Replaces a telemetry's secret value (its name stays the telemetry's name); the relay uses it at once.</summary>
    public async Task<Outcome<Telemetry>> UpdateSecretAsync(
        string ncaId, Guid telemetryId, UpdateTelemetrySecretRequest request, CancellationToken cancellationToken)
    {
        if (request.Secret is null)
        {
            return Rejection.Invalid(FunctionValidation.Field("updateTelemetrySecretRequest", "secret", null, "must not be null"));
        }

        if (FunctionValidation.ValidateSecrets("updateTelemetrySecretRequest", [request.Secret], "secret") is { } error)
        {
            return Rejection.Invalid(error);
        }

        var secret = request.Secret.ToDomain();
        using var _ = await locks.AcquireAsync(LockKey, cancellationToken);
        return await FindAsync(store, ncaId, telemetryId, cancellationToken) is not null
            && await store.UpdateTelemetryAsync(telemetryId, t => t with { Secret = secret with { Name = t.Name } }, cancellationToken) is { } updated
            ? updated
            : NotFound(ncaId, telemetryId);
    }

    /// <summary>
    /// What the cloud checks of a new version's <c>telemetries</c>: each ID names a telemetry of the version's account (404) that
    /// carries the signal it is given for (400). Null when they are valid.
    /// </summary>
    public static async Task<Rejection?> CheckFunctionTelemetriesAsync(IFunctionStore store, string ncaId, Telemetries? telemetries, CancellationToken cancellationToken)
    {
        if (telemetries is null)
        {
            return null;
        }

        foreach (var (id, type) in new[]
        {
            (telemetries.LogsTelemetryId, TelemetryType.Logs),
            (telemetries.MetricsTelemetryId, TelemetryType.Metrics),
            (telemetries.TracesTelemetryId, TelemetryType.Traces),
        })
        {
            if (id is not { } telemetryId)
            {
                continue;
            }

            if (await FindAsync(store, ncaId, telemetryId, cancellationToken) is not { } telemetry)
            {
                return NotFound(ncaId, telemetryId);
            }

            if (!telemetry.Types.Contains(type))
            {
                return Rejection.Invalid("Invalid telemetry type");
            }
        }

        return null;
    }

    /// <summary>The telemetry if it belongs to <paramref name="ncaId"/>; another account's is not found.</summary>
    private static async Task<Telemetry?> FindAsync(IFunctionStore store, string ncaId, Guid telemetryId, CancellationToken cancellationToken) =>
        await store.GetTelemetryAsync(telemetryId, cancellationToken) is { } telemetry && telemetry.NcaId == ncaId ? telemetry : null;

    private static Rejection NotFound(string ncaId, Guid telemetryId) => Rejection.NotFound($"Account '{ncaId}' Telemetry '{telemetryId}': Not found");

    /// <summary><c>TelemetryRequest</c>'s bean validation and enum reading, naming the field of the first failure.</summary>
    private static string? Validate(TelemetryRequest r, out TelemetryProtocol protocol, out TelemetryProvider provider, out IReadOnlyList<TelemetryType> types)
    {
        protocol = default;
        provider = default;
        types = [];
        if (string.IsNullOrWhiteSpace(r.Endpoint))
        {
            return FunctionValidation.Field(RequestObject, "endpoint", r.Endpoint, "must not be blank");
        }

        if (ReadEnum("protocol", r.Protocol, out protocol) is { } protocolError)
        {
            return protocolError;
        }

        if (ReadEnum("provider", r.Provider, out provider) is { } providerError)
        {
            return providerError;
        }

        if (r.Types is null || r.Types.Count == 0)
        {
            return FunctionValidation.Field(RequestObject, "types", null, "must not be empty");
        }

        var read = new List<TelemetryType>();
        foreach (var text in r.Types)
        {
            if (ReadEnum("types", text, out TelemetryType type) is { } typeError)
            {
                return typeError;
            }

            if (!read.Contains(type))
            {
                read.Add(type);
            }
        }

        types = read;
        if (r.Secret is null)
        {
            return FunctionValidation.Field(RequestObject, "secret", null, "must not be null");
        }

        return FunctionValidation.ValidateSecrets(RequestObject, [r.Secret], "secret");
    }

    private static string? ReadEnum<T>(string field, string? text, out T value)
        where T : struct, Enum
    {
        value = default;
        var names = Enum.GetValues<T>().ToDictionary(v => JsonNamingPolicy.SnakeCaseUpper.ConvertName(v.ToString()), v => v, StringComparer.OrdinalIgnoreCase);
        if (text is null)
        {
            return FunctionValidation.Field(RequestObject, field, null, "must not be null");
        }

        if (!names.TryGetValue(text, out value))
        {
            return FunctionValidation.Field(RequestObject, field, text, "must be one of " + string.Join(", ", names.Keys));
        }

        return null;
    }
}
