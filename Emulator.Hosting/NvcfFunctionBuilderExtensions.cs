using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Aspire.Hosting;

/// <summary>Adds the NVCF emulator and its functions to the app model.</summary>
public static class NvcfFunctionBuilderExtensions
{
    /// <summary>The largest <c>maxRequestConcurrency</c> NVCF accepts.</summary>
    private const int MaxRequestConcurrencyLimit = 16384;

    /// <summary>The connection string name the emulator reads its Redis state from (<c>ConnectionStrings:state</c>).</summary>
    public const string StateConnectionName = "state";

    /// <summary>
    /// Aspire turns on the OTLP exporter's in-memory retry for projects. When nothing answers at the OTLP endpoint (no
    /// dashboard: Aspire.Hosting.Testing turns it off and still gives a placeholder endpoint), the last export at
    /// shutdown retries until the export timeout (10 s). DCP stops a project by sending SIGTERM to its <c>dotnet run</c>,
    /// which passes it on and waits for the emulator; after 6 s DCP kills it, and the emulator, left running, is killed
    /// 6 s later with the stop reported as failed: a restart failed with "Failed to stop resource". Without the retry a
    /// failed export is dropped at once and the emulator stops in under a second.
    /// </summary>
    private const string OtlpRetryVariable = "OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY";

    /// <summary>
    /// Adds the NVCF emulator project, set up the way the function resources expect: no launch profile, an
    /// <c>http</c> endpoint for the NVCF API, a <c>grpc</c> endpoint for gRPC invocations (passed to the emulator as
    /// <c>Emulator__GrpcUrl</c>), a health check on <c>/health</c> so that ready means answering, and no OTLP export
    /// retries, so that stopping or restarting it never waits for telemetry that cannot be delivered.
    /// </summary>
    /// <remarks>
    /// The project type comes from the app host's own project reference to the emulator (Aspire generates
    /// <c>Projects.Emulator</c>), which is why it is a type argument: <c>builder.AddNvcfEmulator&lt;Projects.Emulator&gt;("nvcf-emulator")</c>.
    /// </remarks>
    /// <typeparam name="TProject">The emulator's project metadata, e.g. <c>Projects.Emulator</c>.</typeparam>
    /// <param name="builder">The app host builder.</param>
    /// <param name="name">The emulator resource's name.</param>
    /// <returns>The emulator's resource builder, to add functions to.</returns>
    public static IResourceBuilder<ProjectResource> AddNvcfEmulator<TProject>(this IDistributedApplicationBuilder builder, [ResourceName] string name)
        where TProject : IProjectMetadata, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        var emulator = builder.AddProject<TProject>(name, options => options.ExcludeLaunchProfile = true)
            .WithHttpEndpoint(name: "http")
            .WithEndpoint(name: "grpc", scheme: "tcp") // not "http": ASPNETCORE_URLS would claim it for the HTTP/1.1 API
            .WithHttpHealthCheck("/health");

        // gRPC invocations have a cleartext HTTP/2 listener of their own, on the "grpc" endpoint.
        var grpc = emulator.GetEndpoint("grpc");
        return emulator.WithEnvironment("Emulator__GrpcUrl", ReferenceExpression.Create($"http://127.0.0.1:{grpc.Property(EndpointProperty.TargetPort)}"))
            .WithEnvironment(context => context.EnvironmentVariables.Remove(OtlpRetryVariable));
    }

    /// <summary>
    /// Keeps the emulator's state (functions, versions, deployments, running instances) in Redis, so that they survive
    /// a restart of the emulator: its containers keep running and are adopted, and the function resources find their
    /// functions again instead of creating new ones. The connection string is passed as <c>ConnectionStrings:state</c>,
    /// the name the emulator reads, and the emulator waits for Redis.
    /// </summary>
    /// <param name="emulator">The emulator project, from <see cref="AddNvcfEmulator{TProject}"/>.</param>
    /// <param name="redis">The Redis to use; null adds one named <c>&lt;emulator&gt;-state</c> (image <c>redis</c> with
    /// Aspire's tag, used from the local engine when present).</param>
    /// <returns>The emulator's resource builder.</returns>
    public static IResourceBuilder<ProjectResource> WithRedisState(this IResourceBuilder<ProjectResource> emulator, IResourceBuilder<RedisResource>? redis = null)
    {
        ArgumentNullException.ThrowIfNull(emulator);

        redis ??= emulator.ApplicationBuilder.AddRedis($"{emulator.Resource.Name}-state");
        return emulator.WithAnnotation(new NvcfDurableStateAnnotation()).WithReference(redis, StateConnectionName).WaitFor(redis);
    }

    /// <summary>
    /// Adds an NVCF function that runs <paramref name="image"/> on the emulator. Once the emulator is ready
    /// (give it <c>WithHttpHealthCheck("/health")</c> so that ready means answering), the function is created
    /// through the emulator's API and deployed; the dashboard shows it under the emulator, and its log holds a
    /// <c>curl</c> line that invokes it.
    /// </summary>
    /// <param name="emulator">The emulator project; it needs an <c>http</c> endpoint.</param>
    /// <param name="name">The resource name, also the NVCF function name.</param>
    /// <param name="image">The container image, on the local Docker engine or pullable by it.</param>
    /// <param name="inferenceUrl">The path in the container that invocations are forwarded to.</param>
    /// <param name="inferencePort">The port the container listens on.</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> AddNvcfFunction(
        this IResourceBuilder<ProjectResource> emulator,
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

        return AddFunction(emulator, new NvcfFunctionResource(name, emulator.Resource, image, inferenceUrl, inferencePort));
    }

    /// <summary>
    /// Adds an NVCF function whose image is built from a Dockerfile with the <c>docker</c> CLI (tagged
    /// <c>nvcf-apphost/&lt;name&gt;:dev</c>) before it is created, and again by the Deploy and Redeploy commands, so
    /// that new containers run the code as it is now. The dashboard shows the function as Building with the build's
    /// output in its log; a failed build fails the resource with the build's last lines.
    /// </summary>
    /// <param name="emulator">The emulator project; it needs an <c>http</c> endpoint.</param>
    /// <param name="name">The resource name, also the NVCF function name.</param>
    /// <param name="contextPath">The build context, relative to the app host's folder or absolute.</param>
    /// <param name="inferenceUrl">The path in the container that invocations are forwarded to.</param>
    /// <param name="inferencePort">The port the container listens on.</param>
    /// <param name="dockerfile">The Dockerfile, relative to <paramref name="contextPath"/> or absolute.</param>
    /// <returns>The function's resource builder; add build arguments with <see cref="WithBuildArg"/>.</returns>
    public static IResourceBuilder<NvcfFunctionResource> AddNvcfFunctionFromDockerfile(
        this IResourceBuilder<ProjectResource> emulator,
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
        var image = $"nvcf-apphost/{name.ToLowerInvariant()}:dev";
        var resource = new NvcfFunctionResource(name, emulator.Resource, image, inferenceUrl, inferencePort)
        {
            ImageBuild = new NvcfImageBuild(context, dockerfile, new Dictionary<string, string>(StringComparer.Ordinal)),
        };
        return AddFunction(emulator, resource);
    }

    /// <summary>Adds a <c>--build-arg</c> to a function built from a Dockerfile.</summary>
    /// <param name="builder">The function's resource builder, from <see cref="AddNvcfFunctionFromDockerfile"/>.</param>
    /// <param name="name">The argument's name.</param>
    /// <param name="value">The argument's value.</param>
    /// <returns>The function's resource builder.</returns>
    public static IResourceBuilder<NvcfFunctionResource> WithBuildArg(this IResourceBuilder<NvcfFunctionResource> builder, string name, string value)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);

        var build = builder.Resource.ImageBuild
            ?? throw new InvalidOperationException($"The function '{builder.Resource.Name}' is not built from a Dockerfile: add it with AddNvcfFunctionFromDockerfile.");
        builder.Resource.ImageBuild = build with
        {
            BuildArgs = new Dictionary<string, string>(build.BuildArgs, StringComparer.Ordinal) { [name] = value },
        };
        return builder;
    }

    private static IResourceBuilder<NvcfFunctionResource> AddFunction(IResourceBuilder<ProjectResource> emulator, NvcfFunctionResource resource)
    {
        var services = emulator.ApplicationBuilder.Services;

        // Deployment polls would otherwise log lines every second on the app host's console.
        services.AddHttpClient(NvcfFunctionDeployer.HttpClientName).RemoveAllLoggers();
        services.TryAddSingleton<NvcfFunctionDeployer>();
        services.TryAddSingleton<NvcfContainerLogs>();
        services.TryAddEventingSubscriber<NvcfFunctionEventingSubscriber>();

        return emulator.ApplicationBuilder.AddResource(resource)
            .WithParentRelationship(emulator)
            .WithIconName("CloudFlow")
            .ExcludeFromManifest()
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = NvcfFunctionProperties.ResourceType,
                CreationTimeStamp = DateTime.UtcNow,
                State = KnownResourceStates.Waiting,
                Properties = [new(CustomResourceKnownProperties.Source, resource.Image)],
            })
            .WithFunctionCommand(
                NvcfFunctionProperties.DeployCommand,
                "Deploy",
                "Deploys the function (creating it first if needed, rebuilding its image if it has a Dockerfile).",
                "CloudArrowUp",
                confirmation: null,
                (deployer, function, cancellationToken) => deployer.DeployAsync(function, cancellationToken))
            .WithFunctionCommand(
                NvcfFunctionProperties.UndeployCommand,
                "Undeploy",
                "Removes the deployment and its containers; the function and version remain.",
                "CloudDismiss",
                confirmation: $"Undeploy '{resource.Name}' and stop its containers?",
                (deployer, function, cancellationToken) => deployer.UndeployAsync(function, cancellationToken))
            .WithFunctionCommand(
                NvcfFunctionProperties.RedeployCommand,
                "Redeploy",
                "Undeploys and deploys again: new containers run the image as it is now (rebuilt first if the function has a Dockerfile).",
                "ArrowSync",
                confirmation: null,
                (deployer, function, cancellationToken) => deployer.RedeployAsync(function, cancellationToken))
            .WithFunctionCommand(
                NvcfFunctionProperties.RestartCommand,
                "Restart instances",
                "Replaces the running containers: undeploys and deploys the same specification and image (no rebuild); the function and version remain.",
                "ArrowClockwise",
                confirmation: null,
                (deployer, function, cancellationToken) => deployer.RestartAsync(function, cancellationToken));
    }

    private static IResourceBuilder<NvcfFunctionResource> WithFunctionCommand(
        this IResourceBuilder<NvcfFunctionResource> builder,
        string name,
        string displayName,
        string description,
        string iconName,
        string? confirmation,
        Func<NvcfFunctionDeployer, NvcfFunctionResource, CancellationToken, Task<ExecuteCommandResult>> execute)
    {
        var function = builder.Resource;
        return builder.WithCommand(
            name,
            displayName,
            context => execute(context.Services.GetRequiredService<NvcfFunctionDeployer>(), function, context.CancellationToken),
            new CommandOptions
            {
                Description = description,
                IconName = iconName,
                IconVariant = IconVariant.Regular,
                ConfirmationMessage = confirmation,
                UpdateState = context => NvcfFunctionDeployer.CommandState(name, context.ResourceSnapshot),
            });
    }

    /// <summary>Sets how the function is deployed (NVCF's deployment specification).</summary>
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

    /// <summary>Sets the path the emulator probes for readiness (<c>healthUri</c>; NVCF's default is <c>/v2/health/ready</c>).</summary>
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

    /// <summary>Adds an environment variable to the function's container (<c>containerEnvironment</c>).</summary>
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
