using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>Adds NVCF functions and their versions to an emulator, and sets how they are deployed.</summary>
public static class NvcfFunctionBuilderExtensions
{
    /// <summary>The largest <c>maxRequestConcurrency</c> NVCF accepts.</summary>
    private const int MaxRequestConcurrencyLimit = 16384;

    /// <summary>
    /// Adds an NVCF function that runs <paramref name="image"/> on the emulator. Once the emulator is ready (answers
    /// <c>/health</c>), the function is created through the emulator's API and deployed; the dashboard shows it under
    /// the emulator, and its log holds a <c>curl</c> line that invokes it. Add versions with <see cref="AddVersion"/>.
    /// </summary>
    /// <param name="emulator">The emulator, from <c>AddNvcfEmulator</c>.</param>
    /// <param name="name">The resource name, also the NVCF function name.</param>
    /// <param name="image">The container image, on the local Docker engine or pullable by it.</param>
    /// <param name="inferenceUrl">The path in the container that invocations are forwarded to.</param>
    /// <param name="inferencePort">The port the container listens on.</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> AddNvcfFunction(
        this IResourceBuilder<NvcfEmulatorResource> emulator,
        [ResourceName] string name,
        string image,
        string inferenceUrl = "/echo",
        int inferencePort = 8000)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        ArgumentException.ThrowIfNullOrWhiteSpace(inferenceUrl);
        ArgumentOutOfRangeException.ThrowIfLessThan(inferencePort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(inferencePort, 65535);

        return AddFunction(emulator.ApplicationBuilder, new NvcfFunctionResource(name, emulator.Resource, image, inferenceUrl, inferencePort))
            .WithParentRelationship(emulator);
    }

    /// <summary>
    /// Adds an NVCF function whose image is built from a Dockerfile with the <c>docker</c> CLI (tagged
    /// <c>nvcf-apphost/&lt;name&gt;:dev</c>) before it is created, and again by the Deploy and Redeploy commands, so
    /// that new containers run the code as it is now. The dashboard shows the function as Building with the build's
    /// output in its log; a failed build fails the resource with the build's last lines.
    /// </summary>
    /// <param name="emulator">The emulator, from <c>AddNvcfEmulator</c>.</param>
    /// <param name="name">The resource name, also the NVCF function name.</param>
    /// <param name="contextPath">The build context, relative to the app host's folder or absolute.</param>
    /// <param name="inferenceUrl">The path in the container that invocations are forwarded to.</param>
    /// <param name="inferencePort">The port the container listens on.</param>
    /// <param name="dockerfile">The Dockerfile, relative to <paramref name="contextPath"/> or absolute.</param>
    /// <returns>The function's resource builder; add build arguments with <see cref="WithBuildArg"/>.</returns>
    public static IResourceBuilder<NvcfFunctionResource> AddNvcfFunctionFromDockerfile(
        this IResourceBuilder<NvcfEmulatorResource> emulator,
        [ResourceName] string name,
        string contextPath,
        string inferenceUrl = "/echo",
        int inferencePort = 8000,
        string dockerfile = "Dockerfile")
    {
        ArgumentNullException.ThrowIfNull(emulator);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(contextPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(inferenceUrl);
        ArgumentOutOfRangeException.ThrowIfLessThan(inferencePort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(inferencePort, 65535);
        ArgumentException.ThrowIfNullOrWhiteSpace(dockerfile);

        var context = Path.GetFullPath(contextPath, emulator.ApplicationBuilder.AppHostDirectory);
        var build = new NvcfImageBuild(context, dockerfile, new Dictionary<string, string>(StringComparer.Ordinal));
        var resource = new NvcfFunctionResource(name, emulator.Resource, NvcfFunctionResource.ImageTag(name), inferenceUrl, inferencePort, build);
        return AddFunction(emulator.ApplicationBuilder, resource).WithParentRelationship(emulator);
    }

    /// <summary>
    /// Adds a version of the function: a second NVCF version with the same function ID (<c>POST
    /// /v2/nvcf/functions/{functionId}/versions</c>, once the function exists), deployed next to the function's own
    /// version, so that invocations by function ID go to either. The dashboard shows it under the function, with its
    /// own state, version ID, commands, instances and logs.
    /// </summary>
    /// <remarks>
    /// The version inherits the function's definition: the image (or the Dockerfile and build arguments; the version
    /// builds its own tag, <c>nvcf-apphost/&lt;version&gt;:dev</c>), inference URL and port, health path, environment and
    /// deployment specification. Its own <c>WithEnvironment</c>, <c>WithBuildArg</c>, <c>WithHealthUri</c> and
    /// <c>WithDeployment</c> override what it inherits (the environment: the function's variables overlaid with the
    /// version's). Inheritance is resolved when the version is deployed, so settings made on the function after
    /// <c>AddVersion</c> reach the version too. If the function fails before it is created (e.g. its build fails), the
    /// version fails with that cause. The version is tagged with its resource name on the emulator
    /// (<c>aspire-resource=&lt;name&gt;</c>), which is how it finds itself again after an emulator restart with durable state.
    /// </remarks>
    /// <example>
    /// <code>
    /// var hello = nvcf.AddNvcfFunctionFromDockerfile("hello", "../fn", "/echo").WithEnvironment("VERSION", "v1");
    /// hello.AddVersion("hello-v2").WithEnvironment("VERSION", "v2");
    /// </code>
    /// </example>
    /// <param name="function">The function, from <see cref="AddNvcfFunction"/> or <see cref="AddNvcfFunctionFromDockerfile"/>; not a version.</param>
    /// <param name="name">The version's resource name.</param>
    /// <returns>The version's resource builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="function"/> is itself a version.</exception>
    public static IResourceBuilder<NvcfFunctionResource> AddVersion(this IResourceBuilder<NvcfFunctionResource> function, [ResourceName] string name)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        return AddFunction(function.ApplicationBuilder, new NvcfFunctionResource(name, function.Resource)).WithParentRelationship(function);
    }

    /// <summary>Adds a <c>--build-arg</c> to a function built from a Dockerfile, or to a version of one (overriding the function's).</summary>
    /// <param name="builder">The function's resource builder, from <see cref="AddNvcfFunctionFromDockerfile"/>, or a version's.</param>
    /// <param name="name">The argument's name.</param>
    /// <param name="value">The argument's value.</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> WithBuildArg(this IResourceBuilder<NvcfFunctionResource> builder, string name, string value)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);

        if (builder.Resource.ImageBuild is null)
        {
            throw new InvalidOperationException($"The function '{builder.Resource.FunctionName}' is not built from a Dockerfile: add it with AddNvcfFunctionFromDockerfile.");
        }

        builder.Resource.BuildArgs[name] = value;
        return builder;
    }

    private static IResourceBuilder<NvcfFunctionResource> AddFunction(IDistributedApplicationBuilder builder, NvcfFunctionResource resource)
    {
        var services = builder.Services;

        // Deployment polls would otherwise log lines every second on the app host's console.
        services.AddHttpClient(NvcfEmulatorClient.HttpClientName).RemoveAllLoggers();
        services.TryAddSingleton<NvcfFunctionDashboard>();
        services.TryAddSingleton<NvcfContainerLogs>();
        services.TryAddSingleton<NvcfFunctionProvisioner>();
        services.TryAddSingleton<NvcfDeploymentWatcher>();
        services.TryAddSingleton<NvcfFunctionCommands>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, NvcfShutdownUndeployer>());
        services.TryAddEventingSubscriber<NvcfFunctionEventingSubscriber>();

        var isVersion = resource.Function is not null;
        var added = builder.AddResource(resource)
            .WithIconName(isVersion ? "BranchFork" : "CloudFlow")
            .ExcludeFromManifest()
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = isVersion ? NvcfFunctionProperties.VersionResourceType : NvcfFunctionProperties.ResourceType,
                CreationTimeStamp = DateTime.UtcNow,
                State = KnownResourceStates.Waiting,
                Properties = [new(CustomResourceKnownProperties.Source, resource.Image)],
            });
        return NvcfFunctionCommands.AddTo(added);
    }

    /// <summary>Sets how the function (or version) is deployed (NVCF's deployment specification); a version's overrides its function's.</summary>
    /// <param name="builder">The function's resource builder.</param>
    /// <param name="minInstances">Instances kept running (0 or more).</param>
    /// <param name="maxInstances">Most instances started under load (1 or more, at least <paramref name="minInstances"/>).</param>
    /// <param name="maxRequestConcurrency">Requests one instance serves at a time (1 to 16384).</param>
    /// <param name="gpu">The GPU name; accepted as in the cloud, the emulator runs on the local machine's GPUs.</param>
    /// <param name="instanceType">The instance type; accepted as in the cloud.</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> WithDeployment(
        this IResourceBuilder<NvcfFunctionResource> builder,
        int minInstances,
        int maxInstances,
        int maxRequestConcurrency,
        string gpu = NvcfDeploymentSpecification.DefaultGpu,
        string instanceType = NvcfDeploymentSpecification.DefaultInstanceType)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfNegative(minInstances);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInstances, Math.Max(1, minInstances));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRequestConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRequestConcurrency, MaxRequestConcurrencyLimit);
        ArgumentException.ThrowIfNullOrWhiteSpace(gpu);
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceType);

        builder.Resource.Deployment = new NvcfDeploymentSpecification(minInstances, maxInstances, maxRequestConcurrency, gpu, instanceType);
        return builder;
    }

    /// <summary>Sets the path the emulator probes for readiness (<c>healthUri</c>; NVCF's default is <c>/v2/health/ready</c>); a version's overrides its function's.</summary>
    /// <param name="builder">The function's resource builder.</param>
    /// <param name="healthUri">The path, e.g. <c>/health</c>.</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> WithHealthUri(this IResourceBuilder<NvcfFunctionResource> builder, string healthUri)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(healthUri);

        builder.Resource.HealthUri = healthUri;
        return builder;
    }

    /// <summary>
    /// Sends the function's (or version's) own logs, metrics and traces to the Aspire dashboard, under this resource: the
    /// emulator gets a telemetry (provider <c>OTEL_COLLECTOR</c>) pointing at the dashboard's OTLP endpoint, created once,
    /// the function is created with it for all three signals, and its containers get the standard
    /// <c>OTEL_EXPORTER_OTLP_*</c> variables (reaching the dashboard through the emulator's relay) with
    /// <c>OTEL_SERVICE_NAME</c> set to the resource's name. Invocations carry W3C trace context, so a function's spans
    /// join the caller's trace. A version inherits its function's setting.
    /// </summary>
    /// <param name="builder">The function's resource builder.</param>
    /// <param name="enabled">False turns it off (for a version of a function that has it).</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> WithTelemetry(this IResourceBuilder<NvcfFunctionResource> builder, bool enabled = true)
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Resource.SendsTelemetry = enabled;
        return builder;
    }

    /// <summary>Adds an environment variable to the function's (or version's) container (<c>containerEnvironment</c>); a version's variables are overlaid on its function's.</summary>
    /// <param name="builder">The function's resource builder.</param>
    /// <param name="name">The variable's name.</param>
    /// <param name="value">The variable's value.</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> WithEnvironment(this IResourceBuilder<NvcfFunctionResource> builder, string name, string value)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);

        builder.Resource.Environment[name] = value;
        return builder;
    }
}
