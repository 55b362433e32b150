namespace Nvcf.Emulator.Domain;

/// <summary>The desired deployment of one function version: one or more GPU specifications.</summary>
public sealed record Deployment
{
    public required Guid DeploymentId { get; init; }
    public required Guid FunctionId { get; init; }
    public required Guid VersionId { get; init; }
    public required IReadOnlyList<GpuSpecification> Specifications { get; init; }
    public IReadOnlyList<DeploymentHealth> HealthInfo { get; init; } = [];

    /// <summary>Set by a graceful undeploy that still waits for in-flight requests to finish.</summary>
    public bool Draining { get; init; }

    public required DateTime CreatedAt { get; init; }
    public required DateTime LastUpdatedAt { get; init; }

    /// <summary>
    /// All specs ask for zero warm instances: the version is ACTIVE at once (docs/nvcf-contract.md#function-statuses).
    /// </summary>
    public bool ScalesFromZero => Specifications.All(s => s.MinInstances == 0);
}

/// <summary>One entry of <c>deploymentSpecifications</c>.</summary>
public sealed record GpuSpecification
{
    public const int DefaultMaxRequestConcurrency = 1;
    public const int MaxRequestConcurrencyLimit = 16384;

    public required Guid GpuSpecificationId { get; init; }
    public required string Gpu { get; init; }
    public required string InstanceType { get; init; }
    public string? Backend { get; init; }
    public required int MinInstances { get; init; }
    public required int MaxInstances { get; init; }
    public int MaxRequestConcurrency { get; init; } = DefaultMaxRequestConcurrency;
    public IReadOnlyList<string>? AvailabilityZones { get; init; }
    public IReadOnlyList<string>? Clusters { get; init; }
    public IReadOnlyList<string>? Regions { get; init; }
    public IReadOnlyList<string>? Attributes { get; init; }
    public System.Text.Json.Nodes.JsonNode? Configuration { get; init; }
    public System.Text.Json.Nodes.JsonObject? AutoscalingConfiguration { get; init; }
}

/// <summary>Why a deployment is not healthy, as shown in <c>healthInfo</c>.</summary>
public sealed record DeploymentHealth(string Gpu, string? Backend, string InstanceType, string Error);
