using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting;

/// <summary>Adds the NVCF emulator to the app model.</summary>
public static class NvcfEmulatorBuilderExtensions
{
    /// <summary>The connection string name the emulator reads its Redis state from (<c>ConnectionStrings:state</c>).</summary>
    public const string StateConnectionName = "state";

    /// <summary>
    /// Aspire turns on the OTLP exporter's in-memory retry for .NET projects. When nothing answers at the OTLP endpoint
    /// (no dashboard: Aspire.Hosting.Testing turns it off and still gives a placeholder endpoint), the last export at
    /// shutdown retries until the export timeout (10 s), longer than DCP waits for a stop. Without the retry a failed
    /// export is dropped at once and the emulator stops in under a second; removed in case anything sets it.
    /// </summary>
    private const string OtlpRetryVariable = "OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY";

    /// <summary>The emulator's first key of its default account (<c>Emulator:ApiKeys:0</c>).</summary>
    private const string ApiKeyVariable = "Emulator__ApiKeys__0";

    /// <summary>
    /// Adds the NVCF emulator: <c>dotnet Nvcf.Emulator.dll</c>, the emulator that ships in the Nvcf.Emulator.Hosting
    /// package (or the build named by <c>NVCF_EMULATOR_PATH</c> / <c>NvcfEmulator:Path</c> / the app host project's
    /// <c>NvcfEmulatorPath</c>), run from its own folder. It gets an <c>http</c> endpoint for the NVCF API (passed as
    /// <c>ASPNETCORE_URLS</c>), a <c>grpc</c> endpoint for gRPC invocations (passed as <c>Emulator__GrpcUrl</c>), a health
    /// check on <c>/health</c> so that ready means answering, the OTLP exporter so that its logs, traces and metrics
    /// reach the dashboard, and no OTLP export retries, so that stopping or restarting it never waits for telemetry
    /// that cannot be delivered.
    /// </summary>
    /// <example>
    /// <code>
    /// var nvcf = builder.AddNvcfEmulator("nvcf").WithRedisState();
    /// nvcf.AddNvcfFunction("echo", "nvcf-samples/echo:latest", "/echo");
    /// builder.AddProject&lt;Projects.Client&gt;("client").WithReference(nvcf);
    /// </code>
    /// </example>
    /// <param name="builder">The app host builder.</param>
    /// <param name="name">The emulator resource's name.</param>
    /// <returns>The emulator's resource builder, to add functions to.</returns>
    /// <exception cref="InvalidOperationException">No <c>Nvcf.Emulator.dll</c> is named, or the named one does not exist;
    /// the message says how to fix it.</exception>
    public static IResourceBuilder<NvcfEmulatorResource> AddNvcfEmulator(this IDistributedApplicationBuilder builder, [ResourceName] string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        var emulatorPath = NvcfEmulatorLocator.FindEmulator(builder);
        var resource = new NvcfEmulatorResource(name, NvcfEmulatorLocator.DotnetHost(), emulatorPath);
        var http = resource.HttpEndpoint;
        var grpc = resource.GrpcEndpoint;
        return builder.AddResource(resource)
            .WithArgs(emulatorPath)
            .WithHttpEndpoint(name: NvcfEmulatorResource.HttpEndpointName)
            .WithUrlForEndpoint(NvcfEmulatorResource.HttpEndpointName, e => new() { Url = $"{e.Url}/openapi/v1.json", DisplayText = "OpenAPI" })
            .WithEndpoint(name: NvcfEmulatorResource.GrpcEndpointName, scheme: "tcp") // not "http": a second HTTP/1.1 listener it is not
            .WithEnvironment("ASPNETCORE_URLS", ReferenceExpression.Create($"http://127.0.0.1:{http.Property(EndpointProperty.TargetPort)}"))
            .WithEnvironment("Emulator__GrpcUrl", ReferenceExpression.Create($"http://127.0.0.1:{grpc.Property(EndpointProperty.TargetPort)}"))
            .WithEnvironment(context =>
            {
                // What Aspire gives .NET projects for their console logs in the dashboard: colours and the simple format.
                context.EnvironmentVariables["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "true";
                context.EnvironmentVariables["LOGGING__CONSOLE__FORMATTERNAME"] = "simple";
            })
            .WithOtlpExporter()
            .WithEnvironment(context => context.EnvironmentVariables.Remove(OtlpRetryVariable))
            .WithHttpHealthCheck("/health", endpointName: NvcfEmulatorResource.HttpEndpointName)
            .ExcludeFromManifest();
    }

    /// <summary>
    /// Configures the emulator with an API key of its default account (<c>Emulator__ApiKeys__0</c>), so that requests
    /// without it get 401 as in the cloud, and makes the integration's own calls (creating and deploying the function
    /// resources, the dashboard's commands) send it. Keys configured on the resource another way
    /// (<c>WithEnvironment("Emulator__ApiKeys__0", ...)</c>) are not known to the integration: it then sends the key
    /// <c>local</c>, which must be among them.
    /// </summary>
    /// <example>
    /// <code>
    /// var nvcf = builder.AddNvcfEmulator("nvcf").WithApiKey(builder.AddParameter("nvcf-api-key", secret: true));
    /// </code>
    /// </example>
    /// <param name="emulator">The emulator, from <see cref="AddNvcfEmulator"/>.</param>
    /// <param name="key">The key; it replaces one given by an earlier call.</param>
    /// <returns>The emulator's resource builder.</returns>
    public static IResourceBuilder<NvcfEmulatorResource> WithApiKey(this IResourceBuilder<NvcfEmulatorResource> emulator, string key)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);

        return emulator.WithApiKey(new NvcfApiKeyAnnotation(ReferenceExpression.Create($"{key}"), isSecret: false));
    }

    /// <summary>
    /// Configures the emulator with the value of <paramref name="key"/> as an API key of its default account, as
    /// <see cref="WithApiKey(IResourceBuilder{NvcfEmulatorResource}, string)"/> does. A secret parameter is not shown in
    /// the console's curl lines (they read <c>$NVCF_API_KEY</c>).
    /// </summary>
    /// <param name="emulator">The emulator, from <see cref="AddNvcfEmulator"/>.</param>
    /// <param name="key">The parameter that holds the key.</param>
    /// <returns>The emulator's resource builder.</returns>
    public static IResourceBuilder<NvcfEmulatorResource> WithApiKey(this IResourceBuilder<NvcfEmulatorResource> emulator, IResourceBuilder<ParameterResource> key)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        ArgumentNullException.ThrowIfNull(key);

        return emulator.WithApiKey(new NvcfApiKeyAnnotation(ReferenceExpression.Create($"{key.Resource}"), key.Resource.Secret));
    }

    private static IResourceBuilder<NvcfEmulatorResource> WithApiKey(this IResourceBuilder<NvcfEmulatorResource> emulator, NvcfApiKeyAnnotation annotation)
    {
        var resource = emulator.Resource;
        var first = !resource.TryGetLastAnnotation<NvcfApiKeyAnnotation>(out _);
        emulator.WithAnnotation(annotation, ResourceAnnotationMutationBehavior.Replace);
        return first
            ? emulator.WithEnvironment(context =>
            {
                if (resource.TryGetLastAnnotation<NvcfApiKeyAnnotation>(out var current))
                {
                    context.EnvironmentVariables[ApiKeyVariable] = current.Key;
                }
            })
            : emulator;
    }

    /// <summary>
    /// Keeps the emulator's state (functions, versions, deployments, running instances) in Redis, so that they survive
    /// a restart of the emulator: its containers keep running and are adopted, and the function resources find their
    /// functions and versions again instead of creating new ones. The connection string is passed as
    /// <c>ConnectionStrings:state</c>, the name the emulator reads, and the emulator waits for Redis. When the whole app
    /// host stops, the integration undeploys the functions first, so that no container outlives it.
    /// </summary>
    /// <param name="emulator">The emulator, from <see cref="AddNvcfEmulator"/>.</param>
    /// <param name="redis">The Redis to use; null adds one named <c>&lt;emulator&gt;-state</c> (image <c>redis</c> with
    /// Aspire's tag, used from the local engine when present).</param>
    /// <returns>The emulator's resource builder.</returns>
    public static IResourceBuilder<NvcfEmulatorResource> WithRedisState(this IResourceBuilder<NvcfEmulatorResource> emulator, IResourceBuilder<RedisResource>? redis = null)
    {
        ArgumentNullException.ThrowIfNull(emulator);

        redis ??= emulator.ApplicationBuilder.AddRedis($"{emulator.Resource.Name}-state");
        return emulator.WithAnnotation(new NvcfDurableStateAnnotation()).WithReference(redis, StateConnectionName).WaitFor(redis);
    }
}
