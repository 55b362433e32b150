namespace Nvcf.Emulator;

/// <summary>Settings of the emulator (configuration section <c>Emulator</c>).</summary>
public sealed class EmulatorOptions
{
    public const string SectionName = "Emulator";

    /// <summary>The NVIDIA Cloud Account ID that owns every function here.</summary>
    public string NcaId { get; set; } = "local-nca-id";

    /// <summary>
    /// Bearer tokens accepted on every <c>/v2</c> route. Empty (the default): any bearer token is accepted, but
    /// the <c>Authorization</c> header is still required, as in the cloud.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>How long a new instance may take to pass its health check before the deployment turns ERROR (the cloud waits 30 min).</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long an instance above <c>minInstances</c> may stay idle before it is stopped.</summary>
    public TimeSpan IdleInstanceTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Health probing interval once an instance is ready (the cloud checks every 10 s).</summary>
    public TimeSpan HealthInterval { get; set; } = TimeSpan.FromSeconds(10);
}
