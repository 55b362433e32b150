using System.Net;
using System.Text.RegularExpressions;

namespace Nvcf.Emulator.Domain;

/// <summary>
/// The registries a credential may be stored for (docs/nvcf-contract.md#registry-credentials): the cloud's production
/// list per artifact type, plus, in the emulator only, registries on this machine's loopback (<c>localhost:5000</c>,
/// <c>127.0.0.1:5000</c>), which the cloud cannot reach. Also where an image reference's registry is read.
/// </summary>
public static partial class RecognizedRegistries
{
    public const string DockerHub = "docker.io";
    public const string Ngc = "nvcr.io";
    public const string LocalRegistryName = "Local Registry";

    /// <summary>The key Docker's client config uses for Docker Hub.</summary>
    public const string DockerHubConfigKey = "https://index.docker.io/v1/";

    /// <summary>(name, hostname) per artifact type, as <c>GET /v2/nvcf/recognized-registries</c> lists them (sorted by name).</summary>
    public static readonly IReadOnlyDictionary<ArtifactType, IReadOnlyList<(string Name, string Hostname)>> ByArtifactType =
        new Dictionary<ArtifactType, IReadOnlyList<(string Name, string Hostname)>>
        {
            [ArtifactType.Container] = Sorted(Common("nvcr.io"), (LocalRegistryName, "localhost")),
            [ArtifactType.Helm] = Sorted(Common("helm.ngc.nvidia.com"), (LocalRegistryName, "localhost")),
            [ArtifactType.Model] = [("NGC Private Registry", "api.ngc.nvidia.com")],
            [ArtifactType.Resource] = [("NGC Private Registry", "api.ngc.nvidia.com")],
        };

    /// <summary>The recognized registry's name for <paramref name="hostname"/> and <paramref name="type"/>, or null.</summary>
    public static string? NameOf(ArtifactType type, string hostname)
    {
        if (type is ArtifactType.Container or ArtifactType.Helm && IsLoopback(hostname))
        {
            return LocalRegistryName;
        }

        var normalized = Normalize(hostname);
        return ByArtifactType[type].FirstOrDefault(r => string.Equals(r.Hostname, normalized, StringComparison.OrdinalIgnoreCase)).Name;
    }

    /// <summary>
    /// The registry of an image reference, as the engine reads it: a first component with a '.' or ':' (or
    /// <c>localhost</c>) names the registry; otherwise the image is on Docker Hub.
    /// </summary>
    public static string RegistryOf(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var first = image[..slash];
            if (first.IndexOfAny(['.', ':']) >= 0 || first == "localhost")
            {
                return first is "index.docker.io" or "registry-1.docker.io" ? DockerHub : first.ToLowerInvariant();
            }
        }

        return DockerHub;
    }

    /// <summary>Whether a credential for <paramref name="hostname"/> serves pulls from <paramref name="registry"/>.</summary>
    public static bool SameRegistry(string hostname, string registry) =>
        string.Equals(hostname, registry, StringComparison.OrdinalIgnoreCase)
        || (registry == DockerHub && hostname is "index.docker.io" or "registry-1.docker.io");

    /// <summary><c>localhost</c>, a 127.0.0.0/8 address or <c>[::1]</c>, with an optional port.</summary>
    public static bool IsLoopback(string hostname)
    {
        if (LoopbackPattern().Match(hostname) is not { Success: true } match)
        {
            return false;
        }

        var host = match.Groups["host"].Value;
        return host == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }

    // The cloud maps account- and region-specific hostnames onto its configured ones (RegistryMapperService).
    private static string Normalize(string hostname) => hostname.ToLowerInvariant() switch
    {
        "canary.nvcr.io" => "nvcr.io",
        "helm.canary.ngc.nvidia.com" => "helm.ngc.nvidia.com",
        "api.canary.ngc.nvidia.com" => "api.ngc.nvidia.com",
        var h when EcrPrivatePattern().IsMatch(h) => "dkr.ecr.amazonaws.com",
        var h when h.EndsWith(".cr.volces.com", StringComparison.Ordinal) => "cr.volces.com",
        var h when h.EndsWith(".azurecr.io", StringComparison.Ordinal) => "azurecr.io",
        var h => h,
    };

    private static IEnumerable<(string Name, string Hostname)> Common(string ngc) =>
    [
        ("Docker Hub Registry", DockerHub),
        ("NGC Private Registry", ngc),
        ("AWS ECR Private Registry", "dkr.ecr.amazonaws.com"),
        ("AWS ECR Public Registry", "public.ecr.aws"),
        ("Volcano Engine Registry", "cr.volces.com"),
        ("Azure Container Registry", "azurecr.io"),
    ];

    private static IReadOnlyList<(string Name, string Hostname)> Sorted(IEnumerable<(string Name, string Hostname)> registries, (string Name, string Hostname) local) =>
        [.. registries.Append(local).OrderBy(r => r.Name, StringComparer.Ordinal)];

    [GeneratedRegex(@"^(?<host>localhost|\d{1,3}(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex LoopbackPattern();

    [GeneratedRegex(@"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex EcrPrivatePattern();
}
