using System.Text.Json.Nodes;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime.Gpu;

namespace Nvcf.Emulator.Api.Contracts;

/// <summary>
/// Body of <c>POST</c> and <c>PUT /v2/nvcf/deployments/functions/{id}/versions/{versionId}</c>
/// (docs/nvcf-contract.md#deployment-request).
/// </summary>
public sealed record DeploymentRequest(List<GpuSpecificationDto>? DeploymentSpecifications);

/// <summary>Body of <c>PATCH /v2/nvcf/deployments/{deploymentId}/gpu-specifications/{id}</c>.</summary>
public sealed record UpdateGpuSpecificationRequest
{
    public int? MinInstances { get; init; }
    public int? MaxInstances { get; init; }
    public JsonObject? AutoscalingConfiguration { get; init; }
    public string? AutoscalingConfigurationPolicy { get; init; }
}

public sealed record GpuSpecificationDto
{
    public Guid? GpuSpecificationId { get; init; }
    public string? Gpu { get; init; }
    public string? InstanceType { get; init; }
    public string? Backend { get; init; }
    public int? MinInstances { get; init; }
    public int? MaxInstances { get; init; }
    public int? MaxRequestConcurrency { get; init; }
    public List<string>? AvailabilityZones { get; init; }
    public JsonNode? Configuration { get; init; }
    public List<string>? Clusters { get; init; }
    public List<string>? Regions { get; init; }
    public List<string>? Attributes { get; init; }
    public JsonObject? AutoscalingConfiguration { get; init; }

    /// <summary>
    /// What was asked and what the instances get on this host (emulator only, in responses), e.g.
    /// "asked L40 × 1 per instance (…); host has 1 × H100 (…); raw device mode (…)".
    /// </summary>
    public string? Placement { get; init; }

    /// <summary>The specification as the domain keeps it, under <paramref name="id"/>; call only once the request is validated.</summary>
    public GpuSpecification ToDomain(Guid id) => new()
    {
        GpuSpecificationId = id,
        Gpu = Gpu!,
        InstanceType = InstanceType!,
        Backend = Backend,
        MinInstances = MinInstances!.Value,
        MaxInstances = MaxInstances!.Value,
        MaxRequestConcurrency = MaxRequestConcurrency ?? GpuSpecification.DefaultMaxRequestConcurrency,
        AvailabilityZones = AvailabilityZones,
        Configuration = Configuration,
        Clusters = Clusters,
        Regions = Regions,
        Attributes = Attributes,
        AutoscalingConfiguration = AutoscalingConfiguration,
    };

    public static GpuSpecificationDto From(GpuSpecification s, GpuPassthrough? gpu = null) => new()
    {
        GpuSpecificationId = s.GpuSpecificationId,
        Gpu = s.Gpu,
        InstanceType = s.InstanceType,
        Backend = s.Backend,
        MinInstances = s.MinInstances,
        MaxInstances = s.MaxInstances,
        MaxRequestConcurrency = s.MaxRequestConcurrency,
        AvailabilityZones = s.AvailabilityZones?.ToList(),
        Configuration = s.Configuration,
        Clusters = s.Clusters?.ToList(),
        Regions = s.Regions?.ToList(),
        Attributes = s.Attributes?.ToList(),
        AutoscalingConfiguration = s.AutoscalingConfiguration,
        Placement = gpu?.Describe(s),
    };
}

/// <summary>
/// A deployment as the API returns it (<c>FunctionDeploymentDto</c>, docs/nvcf-contract.md#functiondeploymentdto, plus
/// the legacy <c>requestQueueUrl</c>).
/// </summary>
public sealed record DeploymentDto
{
    public required Guid FunctionId { get; init; }
    public required Guid FunctionVersionId { get; init; }
    public required Guid DeploymentId { get; init; }
    public required string FunctionName { get; init; }
    public required string NcaId { get; init; }
    public required FunctionStatus FunctionStatus { get; init; }
    public required string RequestQueueUrl { get; init; }
    public IReadOnlyList<DeploymentHealthDto>? HealthInfo { get; init; }
    public required IReadOnlyList<GpuSpecificationDto> DeploymentSpecifications { get; init; }
    public required DateTime CreatedAt { get; init; }
    public required DateTime LastUpdatedAt { get; init; }

    public static DeploymentDto From(FunctionVersion version, Deployment deployment, Uri baseAddress, GpuPassthrough? gpu = null) => new()
    {
        FunctionId = version.Id,
        FunctionVersionId = version.VersionId,
        DeploymentId = deployment.DeploymentId,
        FunctionName = version.Name,
        NcaId = version.NcaId,
        FunctionStatus = version.Status,
        RequestQueueUrl = new Uri(baseAddress, $"/v2/nvcf/queues/functions/{version.Id}/versions/{version.VersionId}").ToString(),
        HealthInfo = deployment.HealthInfo.Count > 0
            ? [.. deployment.HealthInfo.Select(h => new DeploymentHealthDto(deployment.DeploymentId.ToString(), h.Gpu, h.Backend, h.InstanceType, h.Error))]
            : null,
        DeploymentSpecifications = [.. deployment.Specifications.Select(s => GpuSpecificationDto.From(s, gpu))],
        CreatedAt = deployment.CreatedAt,
        LastUpdatedAt = deployment.LastUpdatedAt,
    };
}

public sealed record DeploymentHealthDto(string IcmsRequestId, string Gpu, string? Backend, string InstanceType, string Error)
{
    /// <summary>The legacy name of <see cref="IcmsRequestId"/>, still read by older clients.</summary>
    public string SisRequestId => IcmsRequestId;
}

public sealed record DeploymentResponse(DeploymentDto Deployment);

public sealed record GpuSpecificationResponse(GpuSpecificationDto GpuSpecification);
