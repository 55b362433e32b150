using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Runtime;

/// <summary>
/// The environment of a function container (docs/nvcf-contract.md#environment-variables): the user's entries plus the
/// reserved <c>NVCF_*</c> variables.
/// </summary>
public static class InstanceEnvironment
{
    public const string Backend = "local";
    public const string Region = "local";
    public const string Env = "local";

    public static IReadOnlyDictionary<string, string> For(FunctionVersion version, GpuSpecification spec)
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
        return environment;
    }
}
