namespace Nvcf.Emulator.Domain;

/// <summary>
/// One version of a function: everything that is fixed when the version is created, plus its status.
/// Versions are immutable except for <see cref="Status"/>, <see cref="Tags"/>, <see cref="RateLimit"/>,
/// <see cref="Models"/> (LLM settings) and <see cref="LlmInvocationConfig"/>.
/// </summary>
public sealed record FunctionVersion
{
    public required Guid Id { get; init; }
    public required Guid VersionId { get; init; }
    public required string NcaId { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required string InferenceUrl { get; init; }
    public int? InferencePort { get; init; }
    public string? ContainerImage { get; init; }
    public string? ContainerArgs { get; init; }
    public IReadOnlyList<EnvironmentEntry> ContainerEnvironment { get; init; } = [];
    public IReadOnlyList<FunctionModel>? Models { get; init; }
    public string? HelmChart { get; init; }
    public string? HelmChartServiceName { get; init; }
    public IReadOnlyList<Artifact>? Resources { get; init; }
    public ApiBodyFormat ApiBodyFormat { get; init; } = ApiBodyFormat.Custom;
    public FunctionType FunctionType { get; init; } = FunctionType.Default;
    public required HealthCheck Health { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyList<Secret> Secrets { get; init; } = [];
    public RateLimit? RateLimit { get; init; }
    public Telemetries? Telemetries { get; init; }
    public System.Text.Json.Nodes.JsonObject? LlmInvocationConfig { get; init; }
    public FunctionStatus Status { get; init; } = FunctionStatus.Inactive;
    public required DateTime CreatedAt { get; init; }

    /// <summary>
    /// Accounts the whole function is shared with (docs/nvcf-contract.md#function-sharing): every version of the
    /// function carries the same set, and a new version inherits it, as the cloud keeps it on each version's row.
    /// </summary>
    public IReadOnlyList<string> FunctionAuthorizedAccounts { get; init; } = [];

    /// <summary>Accounts this one version is shared with, besides <see cref="FunctionAuthorizedAccounts"/>.</summary>
    public IReadOnlyList<string> VersionAuthorizedAccounts { get; init; } = [];

    /// <summary>Every account this version is shared with: the function's and the version's own.</summary>
    public IEnumerable<string> AuthorizedAccounts => FunctionAuthorizedAccounts.Union(VersionAuthorizedAccounts, StringComparer.Ordinal);

    /// <summary>Whether account <paramref name="ncaId"/> may list, read and invoke this version without owning it.</summary>
    public bool IsSharedWith(string ncaId) => FunctionAuthorizedAccounts.Contains(ncaId) || VersionAuthorizedAccounts.Contains(ncaId);

    /// <summary>Whether account <paramref name="ncaId"/> sees this version at all: its own, or shared with it.</summary>
    public bool IsVisibleTo(string ncaId) => NcaId == ncaId || IsSharedWith(ncaId);

    /// <summary>gRPC functions are marked by the inference URL <c>/grpc</c>.</summary>
    public bool IsGrpc => InferenceUrl is "/grpc" or "grpc";

    /// <summary>The path requests are sent to, normalised to start with '/'.</summary>
    public string InferencePath => InferenceUrl.StartsWith('/') ? InferenceUrl : "/" + InferenceUrl;

    /// <summary>The port the container serves inference on.</summary>
    public int EffectiveInferencePort => InferencePort ?? HealthCheck.DefaultPort;

    /// <summary>Invocations are accepted only for these statuses (ACTIVE, DEGRADING).</summary>
    public static bool IsInvocable(FunctionStatus status) =>
        status is FunctionStatus.Active or FunctionStatus.Degrading;
}

public enum FunctionStatus
{
    Active,
    Deploying,
    Error,
    Inactive,
    Deleted,
    Degraded,
    Degrading,
}

public enum ApiBodyFormat
{
    PredictV2,
    Custom,
}

public enum FunctionType
{
    Default,
    Streaming,
    Llm,
}

public sealed record EnvironmentEntry(string Key, string Value);

public sealed record Artifact(string Name, string Version, string Uri);

/// <param name="Value">The value: a string, or with <paramref name="IsObject"/> the text of a JSON object.</param>
public sealed record Secret(string Name, string Value, bool IsObject = false)
{
    /// <summary>
    /// Secrets as the update API merges them (docs/nvcf-contract.md#secrets-api): the new value wins for a name already
    /// there, the others are kept.
    /// </summary>
    public static IReadOnlyList<Secret> Merge(IReadOnlyList<Secret> existing, IReadOnlyList<Secret> updates) =>
        [.. existing.Where(e => updates.All(u => u.Name != e.Name)), .. updates];
}

public sealed record FunctionModel
{
    public required string Name { get; init; }
    public string? Version { get; init; }
    public string? Uri { get; init; }
    public System.Text.Json.Nodes.JsonObject? LlmConfig { get; init; }
}

public sealed record RateLimit
{
    public string? Limit { get; init; }
    public IReadOnlyList<string>? ExemptedNcaIds { get; init; }
    public IReadOnlyDictionary<string, string>? PerNcaIdRate { get; init; }
    public bool SyncCheck { get; init; }
    public string? PerUserRate { get; init; }
}

public sealed record Telemetries(Guid? LogsTelemetryId, Guid? MetricsTelemetryId, Guid? TracesTelemetryId);
