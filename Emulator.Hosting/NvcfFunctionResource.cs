namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// An NVCF function of the emulator, or one version of such a function (<see cref="Function"/> is then the function):
/// created through the emulator's API and deployed there once the emulator is ready, shown in the dashboard under
/// the emulator (a version under its function).
/// </summary>
/// <remarks>
/// A version inherits its function's definition, resolved when it is deployed (so settings made on the function after
/// <c>AddVersion</c> still reach the version): the image, or the Dockerfile and its build arguments (the version's
/// own build arguments overlaid; the version builds its own image tag), the inference URL and port, the health path,
/// the environment (the function's variables overlaid with the version's own) and the deployment specification. What
/// the version sets itself overrides what it inherits. The properties read the resolved values.
/// </remarks>
public sealed class NvcfFunctionResource : Resource
{
    private readonly string _image;
    private readonly NvcfImageBuild? _imageBuild;
    private readonly string _inferenceUrl;
    private readonly int _inferencePort;
    private string? _healthUri;
    private NvcfDeploymentSpecification? _deployment;
    private bool? _sendsTelemetry;

    /// <summary>A function that runs <paramref name="image"/>, or the image built by <paramref name="imageBuild"/>.</summary>
    /// <param name="name">The resource name, also used as the NVCF function name.</param>
    /// <param name="emulator">The emulator that runs the function.</param>
    /// <param name="image">The container image, e.g. <c>nvcf-samples/echo:latest</c>; the tag that <paramref name="imageBuild"/> builds, if any.</param>
    /// <param name="inferenceUrl">The path in the container that invocations are forwarded to.</param>
    /// <param name="inferencePort">The port the container listens on.</param>
    /// <param name="imageBuild">How the image is built from a Dockerfile before each deploy; null: the image is used as it is.</param>
    public NvcfFunctionResource(string name, NvcfEmulatorResource emulator, string image, string inferenceUrl, int inferencePort, NvcfImageBuild? imageBuild = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        Emulator = emulator;
        _image = image;
        _inferenceUrl = inferenceUrl;
        _inferencePort = inferencePort;
        if (imageBuild is not null)
        {
            _imageBuild = imageBuild with { BuildArgs = new Dictionary<string, string>(StringComparer.Ordinal) };
            foreach (var (key, value) in imageBuild.BuildArgs)
            {
                BuildArgs[key] = value;
            }
        }
    }

    /// <summary>A version of <paramref name="function"/>: a second NVCF version with the same function ID, inheriting its definition.</summary>
    /// <param name="name">The resource name of the version.</param>
    /// <param name="function">The function (not itself a version) that the version belongs to.</param>
    public NvcfFunctionResource(string name, NvcfFunctionResource function)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (function.Function is not null)
        {
            throw new ArgumentException($"'{function.Name}' is itself a version of '{function.Function.Name}': add versions to the function.", nameof(function));
        }

        Function = function;
        Emulator = function.Emulator;
        _image = ImageTag(name);
        _inferenceUrl = function._inferenceUrl;
        _inferencePort = function._inferencePort;
    }

    /// <summary>The emulator that the function is created on.</summary>
    public NvcfEmulatorResource Emulator { get; }

    /// <summary>The function this resource is a version of; null when it is a function.</summary>
    public NvcfFunctionResource? Function { get; }

    /// <summary>The NVCF function name (<c>name</c>): the resource name of the function, for a version its function's.</summary>
    public string FunctionName => Function?.Name ?? Name;

    /// <summary>
    /// The container image (<c>containerImage</c>). A version runs its function's image, or, when the function is built
    /// from a Dockerfile, its own build of it, tagged <c>nvcf-apphost/&lt;version&gt;:dev</c>.
    /// </summary>
    public string Image => Function is { } function && function.ImageBuild is null ? function.Image : _image;

    /// <summary>How <see cref="Image"/> is built before each deploy (a version: its function's Dockerfile, with both sets of build arguments); null: the image is used as it is.</summary>
    public NvcfImageBuild? ImageBuild
    {
        get
        {
            var build = Function?._imageBuild ?? _imageBuild;
            if (build is null)
            {
                return null;
            }

            var arguments = new Dictionary<string, string>(Function?.BuildArgs ?? BuildArgs, StringComparer.Ordinal);
            if (Function is not null)
            {
                foreach (var (key, value) in BuildArgs)
                {
                    arguments[key] = value;
                }
            }

            return build with { BuildArgs = arguments };
        }
    }

    /// <summary>The <c>--build-arg</c> values this resource sets itself (a version's are overlaid on its function's).</summary>
    public IDictionary<string, string> BuildArgs { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The inference path in the container (<c>inferenceUrl</c>).</summary>
    public string InferenceUrl => _inferenceUrl;

    /// <summary>The port the container listens on (<c>inferencePort</c>).</summary>
    public int InferencePort => _inferencePort;

    /// <summary>The readiness path (<c>healthUri</c>); null: NVCF's default, <c>/v2/health/ready</c>. A version without its own reads its function's.</summary>
    public string? HealthUri
    {
        get => _healthUri ?? Function?.HealthUri;
        set => _healthUri = value;
    }

    /// <summary>The environment variables this resource sets itself; a version's are overlaid on its function's (see <see cref="ContainerEnvironment"/>).</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The container's environment (<c>containerEnvironment</c>): for a version, its function's variables overlaid with its
    /// own; with <see cref="SendsTelemetry"/>, <c>OTEL_SERVICE_NAME</c> is the resource's name unless set.
    /// </summary>
    public IReadOnlyDictionary<string, string> ContainerEnvironment
    {
        get
        {
            var environment = new Dictionary<string, string>(Function?.Environment ?? Environment, StringComparer.Ordinal);
            if (Function is not null)
            {
                foreach (var (key, value) in Environment)
                {
                    environment[key] = value;
                }
            }

            if (SendsTelemetry && !Environment.ContainsKey(ServiceNameVariable))
            {
                environment[ServiceNameVariable] = Name;
            }

            return environment;
        }
    }

    /// <summary>
    /// Whether the containers send their logs, metrics and traces to the dashboard (<c>WithTelemetry</c>); a version
    /// without its own setting reads its function's.
    /// </summary>
    public bool SendsTelemetry
    {
        get => _sendsTelemetry ?? Function?.SendsTelemetry ?? false;
        set => _sendsTelemetry = value;
    }

    /// <summary>How the function is deployed (one NVCF deployment specification). A version without its own reads its function's.</summary>
    public NvcfDeploymentSpecification Deployment
    {
        get => _deployment ?? Function?.Deployment ?? new();
        set => _deployment = value;
    }

    /// <summary>The function ID the emulator assigned (a version's is its function's); null until created.</summary>
    public Guid? FunctionId { get; set; }

    /// <summary>The version ID the emulator assigned; null until created.</summary>
    public Guid? VersionId { get; set; }

    /// <summary>The OpenTelemetry service name: the dashboard shows a container's telemetry under the resource of that name.</summary>
    internal const string ServiceNameVariable = "OTEL_SERVICE_NAME";

    /// <summary>The tag a resource's image built from a Dockerfile gets.</summary>
    internal static string ImageTag(string resourceName) => $"nvcf-apphost/{resourceName.ToLowerInvariant()}:dev";
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
