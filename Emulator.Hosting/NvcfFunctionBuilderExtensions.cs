using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Lifecycle;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Hosting;

/// <summary>Adds NVCF functions to an NVCF emulator project in the app model.</summary>
public static class NvcfFunctionBuilderExtensions
{
    /// <summary>The largest <c>maxRequestConcurrency</c> NVCF accepts.</summary>
    private const int MaxRequestConcurrencyLimit = 16384;

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

        // Deployment polls would otherwise log four lines a second on the app host's console.
        emulator.ApplicationBuilder.Services.AddHttpClient(NvcfFunctionEventingSubscriber.HttpClientName).RemoveAllLoggers();
        emulator.ApplicationBuilder.Services.TryAddEventingSubscriber<NvcfFunctionEventingSubscriber>();

        var resource = new NvcfFunctionResource(name, emulator.Resource, image, inferenceUrl, inferencePort);
        return emulator.ApplicationBuilder.AddResource(resource)
            .WithParentRelationship(emulator)
            .WithIconName("CloudFlow")
            .ExcludeFromManifest()
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = NvcfFunctionProperties.ResourceType,
                CreationTimeStamp = DateTime.UtcNow,
                State = KnownResourceStates.Waiting,
                Properties = [new(CustomResourceKnownProperties.Source, image)],
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
