using System.Text.Json.Nodes;
using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Api.Contracts;

/// <summary>
/// Body of <c>POST /v2/nvcf/functions</c> and <c>POST /v2/nvcf/functions/{id}/versions</c>
/// (docs/nvcf-contract.md#create-request).
/// </summary>
public sealed record CreateFunctionRequest
{
    public string? Name { get; init; }
    public string? InferenceUrl { get; init; }
    public int? InferencePort { get; init; }
    public HealthDto? Health { get; init; }
    public string? HealthUri { get; init; }
    public string? ContainerImage { get; init; }
    public string? HelmChart { get; init; }
    public string? HelmChartServiceName { get; init; }
    public List<FunctionModel>? Models { get; init; }
    public string? ContainerArgs { get; init; }
    public List<EnvironmentEntryDto>? ContainerEnvironment { get; init; }
    public List<ArtifactDto>? Resources { get; init; }
    public ApiBodyFormat? ApiBodyFormat { get; init; }
    public FunctionType? FunctionType { get; init; }
    public List<string>? Tags { get; init; }
    public string? Description { get; init; }
    public List<SecretDto>? Secrets { get; init; }
    public RateLimitDto? RateLimit { get; init; }
    public JsonObject? LlmInvocationConfig { get; init; }
    public Telemetries? Telemetries { get; init; }
}

/// <summary>
/// Body of <c>PUT /v2/nvcf/functions/{id}/versions/{versionId}</c> (docs/nvcf-contract.md#update-request): only these
/// fields may change.
/// </summary>
public sealed record UpdateFunctionRequest
{
    public List<string>? Tags { get; init; }
    public RateLimitDto? RateLimit { get; init; }
    public List<ModelUpdateDto>? ModelUpdates { get; init; }
    public JsonObject? LlmInvocationConfig { get; init; }
}

public sealed record ModelUpdateDto(string? ModelName, JsonObject? LlmConfig);

public sealed record HealthDto
{
    public HealthProtocol? Protocol { get; init; }
    public string? Uri { get; init; }
    public int? Port { get; init; }
    public TimeSpan? Timeout { get; init; }
    public int? ExpectedStatusCode { get; init; }

    public static HealthDto From(HealthCheck h) => new()
    {
        Protocol = h.Protocol,
        Uri = h.Uri,
        Port = h.Port,
        Timeout = h.Timeout,
        ExpectedStatusCode = h.ExpectedStatusCode,
    };
}

public sealed record EnvironmentEntryDto(string? Key, string? Value);

public sealed record ArtifactDto(string? Name, string? Version, string? Uri);

/// <summary>A secret; <c>value</c> is a string or a JSON object.</summary>
public sealed record SecretDto(string? Name, JsonNode? Value)
{
    /// <summary>The validated secret (see <see cref="FunctionValidation"/>) in the domain's terms.</summary>
    public Secret ToDomain() => Value is JsonObject o ? new Secret(Name!, o.ToJsonString(), IsObject: true) : new Secret(Name!, Value!.GetValue<string>());
}

/// <summary>Body of <c>PUT /v2/nvcf/secrets/functions/{id}/versions/{versionId}</c>.</summary>
public sealed record UpdateSecretsRequest(List<SecretDto>? Secrets);

public sealed record RateLimitDto
{
    public string? RateLimit { get; init; }
    public List<string>? ExemptedNcaIds { get; init; }
    public Dictionary<string, string>? PerNcaIdRate { get; init; }
    public bool? SyncCheck { get; init; }
    public string? PerUserRate { get; init; }

    public RateLimit ToDomain() => new()
    {
        Limit = RateLimit,
        ExemptedNcaIds = ExemptedNcaIds,
        PerNcaIdRate = PerNcaIdRate,
        SyncCheck = SyncCheck ?? false,
        PerUserRate = PerUserRate,
    };

    public static RateLimitDto From(RateLimit r) => new()
    {
        RateLimit = r.Limit,
        ExemptedNcaIds = r.ExemptedNcaIds?.ToList(),
        PerNcaIdRate = r.PerNcaIdRate?.ToDictionary(),
        SyncCheck = r.SyncCheck,
        PerUserRate = r.PerUserRate,
    };
}

/// <summary>
/// A function version as the API returns it (<c>FunctionDto</c>, docs/nvcf-contract.md#functiondto); nulls are omitted.
/// </summary>
public sealed record FunctionDto
{
    public required Guid Id { get; init; }
    public required string NcaId { get; init; }
    public required Guid VersionId { get; init; }
    public required string Name { get; init; }
    public required FunctionStatus Status { get; init; }

    /// <summary>True for another account's function shared with the caller; omitted otherwise.</summary>
    public bool? OwnedByDifferentAccount { get; init; }

    public string? InferenceUrl { get; init; }
    public int? InferencePort { get; init; }
    public string? ContainerArgs { get; init; }
    public IReadOnlyList<EnvironmentEntry>? ContainerEnvironment { get; init; }
    public IReadOnlyList<FunctionModel>? Models { get; init; }
    public string? ContainerImage { get; init; }
    public ApiBodyFormat ApiBodyFormat { get; init; }
    public string? HelmChart { get; init; }
    public string? HelmChartServiceName { get; init; }
    public required string HealthUri { get; init; }
    public required DateTime CreatedAt { get; init; }
    public IReadOnlyList<InstanceDto>? ActiveInstances { get; init; }
    public IReadOnlyList<Artifact>? Resources { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public string? Description { get; init; }
    public required HealthDto Health { get; init; }
    public FunctionType FunctionType { get; init; }
    public IReadOnlyList<string>? Secrets { get; init; }
    public RateLimitDto? RateLimit { get; init; }
    public JsonObject? LlmInvocationConfig { get; init; }
    public Telemetries? Telemetries { get; init; }

    public static FunctionDto From(FunctionVersion v, IReadOnlyList<InstanceDto>? instances = null, bool includeSecrets = true) => new()
    {
        Id = v.Id,
        NcaId = v.NcaId,
        VersionId = v.VersionId,
        Name = v.Name,
        Status = v.Status,
        InferenceUrl = v.InferenceUrl,
        InferencePort = v.InferencePort,
        ContainerArgs = v.ContainerArgs,
        ContainerEnvironment = v.ContainerEnvironment.Count > 0 ? v.ContainerEnvironment : null,
        Models = v.Models,
        ContainerImage = v.ContainerImage,
        ApiBodyFormat = v.ApiBodyFormat,
        HelmChart = v.HelmChart,
        HelmChartServiceName = v.HelmChartServiceName,
        HealthUri = v.Health.Uri,
        CreatedAt = v.CreatedAt,
        ActiveInstances = instances is { Count: > 0 } ? instances : null,
        Resources = v.Resources,
        Tags = v.Tags.Count > 0 ? v.Tags : null,
        Description = v.Description,
        Health = HealthDto.From(v.Health),
        FunctionType = v.FunctionType,
        Secrets = includeSecrets && v.Secrets.Count > 0 ? [.. v.Secrets.Select(s => s.Name)] : null,
        RateLimit = v.RateLimit is null ? null : RateLimitDto.From(v.RateLimit),
        LlmInvocationConfig = v.LlmInvocationConfig,
        Telemetries = v.Telemetries,
    };

    /// <summary>
    /// As another account sees this function (docs/nvcf-contract.md#function-sharing): marked
    /// <c>ownedByDifferentAccount</c>, without what only the owner may read (the cloud's
    /// <c>hideDetailsForPublicAndSharedFunctions</c>).
    /// </summary>
    public FunctionDto AsSeenByAnotherAccount() => this with
    {
        OwnedByDifferentAccount = true,
        InferenceUrl = null,
        InferencePort = null,
        ContainerArgs = null,
        ContainerEnvironment = null,
        ContainerImage = null,
        Models = null,
        Resources = null,
        HelmChart = null,
        HelmChartServiceName = null,
        ActiveInstances = null,
        Secrets = null,
        RateLimit = null,
    };
}

/// <summary>One running instance (<c>InstanceDto</c>).</summary>
public sealed record InstanceDto
{
    public required Guid InstanceId { get; init; }
    public required Guid FunctionId { get; init; }
    public required Guid FunctionVersionId { get; init; }
    public required string InstanceType { get; init; }
    public required string InstanceStatus { get; init; }
    public required string NcaId { get; init; }
    public required string Gpu { get; init; }
    public string? Backend { get; init; }
    public required string Location { get; init; }

    /// <summary>What the instance runs on here, e.g. "GPU 0 (H100), raw device mode (…)" (emulator only).</summary>
    public string? Gpus { get; init; }

    public required DateTime InstanceCreatedAt { get; init; }
    public required DateTime InstanceUpdatedAt { get; init; }
}

public sealed record FunctionResponse(FunctionDto Function);

public sealed record FunctionListResponse(IReadOnlyList<FunctionDto> Functions);

public sealed record FunctionIdsResponse(IReadOnlyList<Guid> FunctionIds);
