using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// The account's quotas (<see cref="EmulatorLimits"/>), checked before anything is stored or started: each method
/// returns null when the request fits, else the detail of the cloud's quota-style 400, naming the field.
/// </summary>
public static class Quotas
{
    /// <summary>
    /// A quota check and the change it allows happen under this key (<see cref="State.KeyedLock"/>), so that two
    /// requests at once cannot each fit and together exceed. Taken after a function's own lock, before the telemetries'.
    /// </summary>
    public static readonly Guid LockKey = new("00000000-0000-4000-8000-00000000a001");

    /// <summary>A new function fits under <see cref="EmulatorLimits.MaxFunctions"/>.</summary>
    public static async ValueTask<string?> CheckNewFunctionAsync(IFunctionStore store, EmulatorOptions options, CancellationToken cancellationToken)
    {
        var functions = (await store.ListVersionsAsync(null, cancellationToken)).Select(v => v.Id).Distinct().Count();
        return functions >= options.Limits.MaxFunctions
            ? Exceeded(options, "functions", "createFunctionRequest", null, options.Limits.MaxFunctions)
            : null;
    }

    /// <summary>
    /// The specifications of the deployment of <paramref name="versionId"/> fit: each concurrency, the deployment's
    /// instances, and the instances of every deployment once this one replaces its own.
    /// </summary>
    public static async ValueTask<string?> CheckDeploymentAsync(
        Guid versionId, IReadOnlyList<GpuSpecification> specifications, IFunctionStore store, EmulatorOptions options, CancellationToken cancellationToken)
    {
        var limits = options.Limits;
        if (specifications.FirstOrDefault(s => s.MaxRequestConcurrency > limits.MaxRequestConcurrency) is { } busy)
        {
            return Exceeded(options, "concurrent requests per instance", "deploymentSpecifications.maxRequestConcurrency", busy.MaxRequestConcurrency, limits.MaxRequestConcurrency);
        }

        if (specifications.FirstOrDefault(s => s.MinInstances > limits.MaxInstancesPerDeployment) is { } floor)
        {
            return Exceeded(options, "instances per deployment", "deploymentSpecifications.minInstances", floor.MinInstances, limits.MaxInstancesPerDeployment);
        }

        var asked = specifications.Sum(s => (long)s.MaxInstances);
        if (asked > limits.MaxInstancesPerDeployment)
        {
            return Exceeded(options, "instances per deployment", "deploymentSpecifications.maxInstances", asked, limits.MaxInstancesPerDeployment);
        }

        var others = (await store.ListDeploymentsAsync(cancellationToken))
            .Where(d => d.VersionId != versionId)
            .Sum(d => d.Specifications.Sum(s => (long)s.MaxInstances));
        return others + asked > limits.MaxInstances
            ? Exceeded(options, $"instances ({others} asked by other deployments)", "deploymentSpecifications.maxInstances", asked, limits.MaxInstances)
            : null;
    }

    /// <summary>
    /// The cloud's message ("Reached or exceeded the max limit", docs/nvcf-contract.md#quotas), with the field and the
    /// value refused.
    /// </summary>
    private static string Exceeded(EmulatorOptions options, string what, string field, object? rejected, int limit) =>
        $"Account '{options.NcaId}': Reached or exceeded the max limit for the number of {what} allowed: {limit}. " +
        $"Please contact your account team for more details [field={field}, rejected={rejected ?? "null"}]";
}
