using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Nvcf.Emulator.State;

/// <summary>
/// <c>/health</c>'s view of the Redis store: Unhealthy, with the cause, while it cannot be reached (the emulator can
/// neither record nor read deployments then); Healthy with the round trip otherwise.
/// </summary>
public sealed class StateStoreHealthCheck(RedisFunctionStore store) : IHealthCheck
{
    public const string Name = "state-store";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (store.Outage is { } outage)
        {
            return HealthCheckResult.Unhealthy(new StoreUnavailableException(store.Endpoint, outage).Message);
        }

        try
        {
            var roundTrip = await store.PingAsync();
            return HealthCheckResult.Healthy($"Redis at {store.Endpoint} answered in {roundTrip.TotalMilliseconds:0.#} ms");
        }
        catch (StoreUnavailableException e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
