using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>The emulator in process on a fake runtime, shared by the tests of one class.</summary>
public sealed class FakeEmulatorFixture : IAsyncLifetime
{
    public FakeContainerServer Containers { get; } = new();

    public FakeRuntime Runtime { get; private set; } = null!;

    public EmulatorFactory Factory { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Runtime = new FakeRuntime(Containers);
        Factory = new EmulatorFactory(Runtime, new Dictionary<string, string?> { ["Emulator:ReadyTimeout"] = "00:00:05" });
        Http = Factory.CreateNvcfClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Factory.DisposeAsync();
        await Containers.DisposeAsync();
    }

    public static object EchoFunction(string image = FakeRuntime.Echo, string inferenceUrl = "/echo", string name = "echo") => new
    {
        name,
        inferenceUrl,
        inferencePort = 8000,
        containerImage = image,
    };
}
