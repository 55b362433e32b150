using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>
/// Finds the <c>Nvcf.Emulator.dll</c> to run and the .NET host to run it with: a configured path first
/// (<c>NVCF_EMULATOR_PATH</c>, <c>NvcfEmulator:Path</c>), else the path the package's build targets wrote into the app
/// host's assembly metadata (<c>Nvcf.Emulator.Path</c>).
/// </summary>
internal static class NvcfEmulatorLocator
{
    /// <summary>The assembly metadata key that <c>build/Nvcf.Emulator.Hosting.targets</c> writes.</summary>
    public const string MetadataKey = "Nvcf.Emulator.Path";

    /// <summary>The environment variable (and configuration key) that names another emulator build.</summary>
    public const string PathVariable = "NVCF_EMULATOR_PATH";

    /// <summary>The configuration key that names another emulator build.</summary>
    public const string PathConfigurationKey = "NvcfEmulator:Path";

    private const string Fix =
        "Reference the Nvcf.Emulator.Hosting package from the app host project (it ships the emulator and names it in the " +
        "app host's assembly metadata), or set NvcfEmulatorPath in the app host's project (or the NVCF_EMULATOR_PATH " +
        "environment variable, or NvcfEmulator:Path in its configuration) to a built Nvcf.Emulator.dll; in the emulator's " +
        "own repository, build the Emulator project first (dotnet build).";

    /// <summary>The absolute path of an existing <c>Nvcf.Emulator.dll</c>; throws with the fix when there is none.</summary>
    public static string FindEmulator(IDistributedApplicationBuilder builder)
    {
        string path;
        string source;
        if (FirstNonEmpty(builder.Configuration[PathVariable], Environment.GetEnvironmentVariable(PathVariable)) is { } variable)
        {
            (path, source) = (variable, $"the {PathVariable} environment variable");
        }
        else if (builder.Configuration[PathConfigurationKey] is { Length: > 0 } configured)
        {
            (path, source) = (configured, $"the {PathConfigurationKey} configuration");
        }
        else
        {
            var assembly = builder.AppHostAssembly ?? Assembly.GetEntryAssembly();
            var fromMetadata = FromMetadata(assembly);
            if (fromMetadata is null && assembly != Assembly.GetEntryAssembly())
            {
                assembly = Assembly.GetEntryAssembly();
                fromMetadata = FromMetadata(assembly);
            }

            if (fromMetadata is null)
            {
                throw new InvalidOperationException(
                    $"The NVCF emulator was not found: no path is configured and the app host assembly '{builder.AppHostAssembly?.GetName().Name ?? "(unknown)"}' " +
                    $"has no '{MetadataKey}' assembly metadata. {Fix}");
            }

            (path, source) = (fromMetadata, $"the '{MetadataKey}' metadata of the app host assembly '{assembly!.GetName().Name}'");
        }

        var fullPath = Path.GetFullPath(path, builder.AppHostDirectory);
        return File.Exists(fullPath)
            ? fullPath
            : throw new InvalidOperationException($"The NVCF emulator was not found: '{fullPath}' (from {source}) does not exist. {Fix}");
    }

    /// <summary>The .NET host: <c>DOTNET_HOST_PATH</c> when set (the <c>dotnet</c> that runs the build or the tests), else <c>dotnet</c> from the PATH.</summary>
    public static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    private static string? FromMetadata(Assembly? assembly) =>
        assembly?.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == MetadataKey)?.Value is { Length: > 0 } value
            ? value
            : null;

    private static string? FirstNonEmpty(params ReadOnlySpan<string?> values)
    {
        foreach (var value in values)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                return value;
            }
        }

        return null;
    }
}
