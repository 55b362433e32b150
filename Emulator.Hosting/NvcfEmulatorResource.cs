namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// The NVCF emulator: <c>dotnet Nvcf.Emulator.dll</c> run as an executable, with the NVCF API on its <c>http</c>
/// endpoint and gRPC invocations on its <c>grpc</c> endpoint. Functions and their versions are added to it
/// (<c>AddNvcfFunction</c>, <c>AddNvcfFunctionFromDockerfile</c>); projects that call the API reference it
/// (<c>WithReference(emulator)</c>) and find it by service discovery.
/// </summary>
/// <param name="name">The resource name.</param>
/// <param name="command">The .NET host that runs the emulator (<c>dotnet</c>, or <c>DOTNET_HOST_PATH</c>).</param>
/// <param name="emulatorPath">The absolute path of <c>Nvcf.Emulator.dll</c>; its folder is the working directory.</param>
public sealed class NvcfEmulatorResource(string name, string command, string emulatorPath)
    : ExecutableResource(name, command, Path.GetDirectoryName(emulatorPath) ?? string.Empty), IResourceWithServiceDiscovery
{
    /// <summary>The name of the endpoint that serves the NVCF API (HTTP/1.1).</summary>
    public const string HttpEndpointName = "http";

    /// <summary>The name of the endpoint that serves gRPC invocations (cleartext HTTP/2).</summary>
    public const string GrpcEndpointName = "grpc";

    /// <summary>The absolute path of the <c>Nvcf.Emulator.dll</c> that runs.</summary>
    public string EmulatorPath { get; } = emulatorPath;

    /// <summary>The NVCF API's endpoint.</summary>
    public EndpointReference HttpEndpoint => field ??= new(this, HttpEndpointName);

    /// <summary>The gRPC invocation endpoint.</summary>
    public EndpointReference GrpcEndpoint => field ??= new(this, GrpcEndpointName);
}

/// <summary>
/// Marks an emulator whose state is durable (<c>WithRedisState</c>): it leaves its instances running when it stops,
/// so the integration undeploys its functions when the whole app host stops.
/// </summary>
public sealed class NvcfDurableStateAnnotation : IResourceAnnotation;

/// <summary>
/// The API key an emulator is configured with by <c>WithApiKey</c>: passed to it as <c>Emulator__ApiKeys__0</c> and
/// sent by the integration's own calls (function resources, dashboard commands) as <c>Authorization: Bearer</c>.
/// </summary>
/// <param name="key">The key: a literal, or a parameter's value.</param>
/// <param name="isSecret">Whether the key is a secret parameter: then the console's curl lines name it
/// <c>$NVCF_API_KEY</c> instead of showing it.</param>
public sealed class NvcfApiKeyAnnotation(ReferenceExpression key, bool isSecret) : IResourceAnnotation
{
    public ReferenceExpression Key { get; } = key;

    public bool IsSecret { get; } = isSecret;
}
