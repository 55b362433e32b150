namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A function of the NVCF emulator: one container image created as an NVCF function through the emulator's API
/// and deployed there once the emulator is ready. Shown in the dashboard under the emulator resource.
/// </summary>
/// <param name="name">The resource name, also used as the NVCF function name.</param>
/// <param name="emulator">The emulator project that runs the function.</param>
/// <param name="image">The container image, e.g. <c>nvcf-samples/echo:latest</c>.</param>
/// <param name="inferenceUrl">The path in the container that invocations are forwarded to.</param>
/// <param name="inferencePort">The port the container listens on.</param>
public sealed class NvcfFunctionResource(string name, ProjectResource emulator, string image, string inferenceUrl, int inferencePort)
    : Resource(name)
{
    /// <summary>The emulator project that the function is created on.</summary>
    public ProjectResource Emulator { get; } = emulator;

    /// <summary>The container image (<c>containerImage</c>).</summary>
    public string Image { get; } = image;

    /// <summary>How <see cref="Image"/> is built from a Dockerfile before each deploy; null: the image is used as it is.</summary>
    public NvcfImageBuild? ImageBuild { get; set; }

    /// <summary>The inference path in the container (<c>inferenceUrl</c>).</summary>
    public string InferenceUrl { get; } = inferenceUrl;

    /// <summary>The port the container listens on (<c>inferencePort</c>).</summary>
    public int InferencePort { get; } = inferencePort;

    /// <summary>The readiness path (<c>healthUri</c>); null: NVCF's default, <c>/v2/health/ready</c>.</summary>
    public string? HealthUri { get; set; }

    /// <summary>Environment variables of the container (<c>containerEnvironment</c>).</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How the function is deployed (one NVCF deployment specification).</summary>
    public NvcfDeploymentSpecification Deployment { get; set; } = new();

    /// <summary>The function ID the emulator assigned; null until the function is created.</summary>
    public Guid? FunctionId { get; set; }

    /// <summary>The version ID the emulator assigned; null until the function is created.</summary>
    public Guid? VersionId { get; set; }
}

/// <summary>One NVCF deployment specification (<c>deploymentSpecifications[0]</c> of a deployment request).</summary>
/// <param name="MinInstances">Instances kept running.</param>
/// <param name="MaxInstances">Most instances started under load.</param>
/// <param name="MaxRequestConcurrency">Requests one instance serves at a time.</param>
/// <param name="Gpu">The GPU name, e.g. <c>L40</c>.</param>
/// <param name="InstanceType">The instance type, e.g. <c>gl40_1.br20_2xlarge</c>.</param>
public sealed record NvcfDeploymentSpecification(
    int MinInstances = 1,
    int MaxInstances = 1,
    int MaxRequestConcurrency = 1,
    string Gpu = NvcfDeploymentSpecification.DefaultGpu,
    string InstanceType = NvcfDeploymentSpecification.DefaultInstanceType)
{
    /// <summary>The GPU used when none is named.</summary>
    public const string DefaultGpu = "L40";

    /// <summary>The instance type used when none is named.</summary>
    public const string DefaultInstanceType = "gl40_1.br20_2xlarge";
}

/// <summary>A <c>docker build</c> that produces a function's image.</summary>
/// <param name="ContextPath">The build context folder (absolute).</param>
/// <param name="Dockerfile">The Dockerfile, relative to <paramref name="ContextPath"/> or absolute.</param>
/// <param name="BuildArgs">The <c>--build-arg</c> values.</param>
public sealed record NvcfImageBuild(string ContextPath, string Dockerfile, IReadOnlyDictionary<string, string> BuildArgs);

/// <summary>
/// Marks an emulator whose state is durable (<c>WithRedisState</c>): it leaves its instances running when it stops,
/// so the integration undeploys its functions when the whole app host stops.
/// </summary>
public sealed class NvcfDurableStateAnnotation : IResourceAnnotation;
