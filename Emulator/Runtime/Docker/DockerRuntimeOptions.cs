namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>Settings of the Docker runtime (configuration section <c>Emulator:Docker</c>).</summary>
public sealed class DockerRuntimeOptions
{
    /// <summary>Engine endpoint such as <c>unix:///var/run/docker.sock</c>; by default resolved like the CLI (<c>DOCKER_HOST</c>, then the local socket).</summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// The Docker client configuration folder whose <c>config.json</c> gives pull credentials when no registry credential
    /// is stored for a registry (<see cref="RegistryAuth"/>); by default as the CLI: <c>DOCKER_CONFIG</c>, else
    /// <c>~/.docker</c>.
    /// </summary>
    public string? ConfigDirectory { get; set; }

    /// <summary>Host address container ports are published on and reached at.</summary>
    public string PublishAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// The network function containers join: empty for the engine's default (a bridge, with each container port
    /// published on <see cref="PublishAddress"/>), or <c>host</c> for engines without a bridge (started with
    /// <c>--bridge=none</c>): containers then listen on the host's own ports, so two instances of functions on the
    /// same port cannot run at once.
    /// </summary>
    public string? NetworkMode { get; set; }

    /// <summary>
    /// How the emulator reaches an instance's ports on a bridge network: <see cref="InstanceReach.Auto"/> (the default)
    /// takes the container's own address on that network when the engine is local and this process routes to the
    /// bridge (its gateway is an address of this machine: the host, or a container on the host's network), else the
    /// published port, as for a remote engine (<c>DOCKER_HOST=tcp://other-host</c>) or one in a VM.
    /// </summary>
    public InstanceReach ReachInstancesBy { get; set; } = InstanceReach.Auto;

    /// <summary>How often the emulator renews its owner lease (<see cref="OwnerLease"/>), the proof that it still runs.</summary>
    public TimeSpan OwnerLeaseRenewal { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long an owner lease may go unrenewed before its emulator is judged gone and its containers are reaped: several
    /// renewals, so a busy or briefly paused emulator keeps its containers.
    /// </summary>
    public TimeSpan OwnerLeaseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a stopping container may take before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>How the emulator reaches an instance's ports (<see cref="DockerRuntimeOptions.ReachInstancesBy"/>).</summary>
public enum InstanceReach
{
    /// <summary>The container's own address when it is reachable from here, else the published port.</summary>
    Auto,

    /// <summary>Always the container's own address on its network and the container's port (no <c>docker-proxy</c> in between).</summary>
    BridgeAddress,

    /// <summary>Always the port published on <see cref="DockerRuntimeOptions.PublishAddress"/>.</summary>
    PublishedPort,
}
