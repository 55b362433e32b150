namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>Settings of the Docker runtime (configuration section <c>Emulator:Docker</c>).</summary>
public sealed class DockerRuntimeOptions
{
    /// <summary>Engine endpoint such as <c>unix:///var/run/docker.sock</c>; by default resolved like the CLI (<c>DOCKER_HOST</c>, then the local socket).</summary>
    public string? Endpoint { get; set; }

    /// <summary>Host address container ports are published on and reached at.</summary>
    public string PublishAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// The network function containers join: empty for the engine's default (a bridge, with each container port
    /// published on <see cref="PublishAddress"/>), or <c>host</c> for engines without a bridge (started with
    /// <c>--bridge=none</c>): containers then listen on the host's own ports, so two instances of functions on the
    /// same port cannot run at once.
    /// </summary>
    public string? NetworkMode { get; set; }

    /// <summary>How long a stopping container may take before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
