namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>Settings of the Docker runtime (configuration section <c>Emulator:Docker</c>).</summary>
public sealed class DockerRuntimeOptions
{
    /// <summary>Engine endpoint such as <c>unix:///var/run/docker.sock</c>; by default resolved like the CLI (<c>DOCKER_HOST</c>, then the local socket).</summary>
    public string? Endpoint { get; set; }

    /// <summary>Host address container ports are published on and reached at.</summary>
    public string PublishAddress { get; set; } = "127.0.0.1";

    /// <summary>How long a stopping container may take before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
