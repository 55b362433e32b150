using Nvcf.Emulator.Runtime.Docker;

namespace Nvcf.Emulator.Tests.Unit;

public class EngineLocationTests
{
    [Theory]
    [InlineData("unix:///var/run/docker.sock")]
    [InlineData("npipe://./pipe/docker_engine")]
    [InlineData("tcp://127.0.0.1:2375")]
    [InlineData("tcp://localhost:2376")]
    [InlineData("tcp://[::1]:2375")]
    public void AnEngineOnThisMachineIsLocal(string endpoint) => Assert.True(DockerFunctionRuntime.IsLocalEngine(endpoint));

    [Theory]
    [InlineData("tcp://other-host:2375")]
    [InlineData("tcp://10.0.0.5:2376")]
    [InlineData("ssh://user@build-box")]
    public void AnEngineElsewhereIsRemote(string endpoint) => Assert.False(DockerFunctionRuntime.IsLocalEngine(endpoint));
}
