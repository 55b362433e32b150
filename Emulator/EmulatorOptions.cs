namespace Nvcf.Emulator;

/// <summary>Settings of the emulator (configuration section <c>Emulator</c>).</summary>
public sealed class EmulatorOptions
{
    public const string SectionName = "Emulator";

    /// <summary>The default NVIDIA Cloud Account: the one <see cref="ApiKeys"/> (or, with no keys configured, any bearer token) act as.</summary>
    public string NcaId { get; set; } = "local-nca-id";

    /// <summary>
    /// Bearer tokens of the default account (<see cref="NcaId"/>), with every scope. With no key configured here or in
    /// <see cref="Accounts"/> (the default), any bearer token is accepted as the default account, but the
    /// <c>Authorization</c> header is still required, as in the cloud.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>
    /// Further accounts, by NCA ID (<c>Emulator:Accounts:&lt;ncaId&gt;:ApiKeys:&lt;i&gt;</c>): a key acts as its account,
    /// sees that account's functions, and others' only when they are shared with it (docs/nvcf-contract.md#accounts-and-api-keys).
    /// </summary>
    public IDictionary<string, AccountOptions> Accounts { get; } = new Dictionary<string, AccountOptions>(StringComparer.Ordinal);

    /// <summary>How long a new instance may take to pass its health check before the deployment turns ERROR (the cloud waits 30 min).</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How often a ready instance's health check runs (the cloud's worker checks every 10 s,
    /// docs/nvcf-contract.md#ports-health-and-startup). An instance that fails
    /// <see cref="HealthCheckFailureThreshold"/> checks in a row is taken out of rotation and replaced.
    /// </summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Consecutive failed health checks after which a ready instance is taken out of rotation and replaced.</summary>
    public int HealthCheckFailureThreshold { get; set; } = 3;

    /// <summary>How long an instance above <c>minInstances</c> may stay idle before it is stopped.</summary>
    public TimeSpan IdleInstanceTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Host folder for the instances' <c>/var/inf</c> mounts, large results and assets. It must be on the Docker
    /// engine's host (the engine bind-mounts from it).
    /// </summary>
    public string WorkDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "nvcf-emulator");

    /// <summary>
    /// Where gRPC invocations are served (docs/nvcf-contract.md#grpc-invocation): an HTTP/2-only listener, since
    /// cleartext HTTP/2 cannot share the HTTP/1.1 port. Empty: no gRPC listener. Port 0 picks a free one.
    /// </summary>
    public string? GrpcUrl { get; set; } = "http://127.0.0.1:10081";

    /// <summary>How long a large result (the zip behind a 302) and its signed URL stay valid (the cloud signs its URLs for 34–35 min).</summary>
    public TimeSpan LargeResultRetention { get; set; } = TimeSpan.FromMinutes(35);

    /// <summary>
    /// The largest request body an invocation delivers to a function (pexec, HTTP invocation): larger ones are refused
    /// with 413 before they take an instance, or as soon as a body without <c>Content-Length</c> crosses it. gRPC
    /// calls have no limit, as in the cloud.
    /// </summary>
    public long MaxRequestBodyBytes { get; set; } = 1L << 30;

    /// <summary>How long an asset's signed upload URL stays valid (the cloud's current code signs for 35 min).</summary>
    public TimeSpan AssetUploadUrlLifetime { get; set; } = TimeSpan.FromMinutes(35);

    /// <summary>
    /// The address function containers reach the OTLP relay at (docs/nvcf-contract.md#telemetry-in-the-container):
    /// empty for the default, the Docker bridge's gateway (<c>docker0</c>) or, on the host's network, 127.0.0.1.
    /// </summary>
    public string? TelemetryRelayAddress { get; set; }

    /// <summary>The account's quotas (<c>Emulator:Limits</c>), checked when functions are created and deployed.</summary>
    public EmulatorLimits Limits { get; set; } = new();
}

/// <summary>One account of <see cref="EmulatorOptions.Accounts"/>.</summary>
public sealed class AccountOptions
{
    /// <summary>The account's bearer tokens.</summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>
    /// NVCF's scope names its keys carry (<c>invoke_function</c>, <c>apikey:list_functions</c>, ...); none: every scope.
    /// A request to an endpoint whose scope the key lacks gets 403.
    /// </summary>
    public IList<string> Scopes { get; } = [];
}

/// <summary>
/// What this emulator accepts, like the quotas of a cloud account: a request beyond one gets the cloud's 400
/// "Reached or exceeded the max limit" and nothing is created. The defaults fit one machine.
/// </summary>
public sealed class EmulatorLimits
{
    /// <summary>Functions (each with its versions) that may exist at once (the cloud's <c>limits.maxFunctions</c>).</summary>
    public int MaxFunctions { get; set; } = 100;

    /// <summary>The most instances one deployment may ask for: the sum of its specifications' <c>maxInstances</c>.</summary>
    public int MaxInstancesPerDeployment { get; set; } = 16;

    /// <summary>The most instances all deployments together may ask for: the sum of every <c>maxInstances</c>.</summary>
    public int MaxInstances { get; set; } = 64;

    /// <summary>The highest <c>maxRequestConcurrency</c> of a specification (the cloud allows 1024 to 16384).</summary>
    public int MaxRequestConcurrency { get; set; } = 1024;
}
