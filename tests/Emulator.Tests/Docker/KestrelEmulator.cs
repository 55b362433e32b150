using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// The emulator on a real Kestrel server (not the in-memory test server) on the real engine: for what only a real
/// server shows, such as kept-alive connections, request body limits and the server's own error answers.
/// </summary>
public sealed class KestrelEmulator : IAsyncDisposable
{
    private KestrelEmulator(EmulatorFactory factory)
    {
        Factory = factory;
        var server = factory.Services.GetRequiredService<IServer>();
        BaseAddress = new Uri(server.Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
    }

    public EmulatorFactory Factory { get; }

    public Uri BaseAddress { get; }

    public static KestrelEmulator Start(IDictionary<string, string?>? settings = null)
    {
        var factory = new EmulatorFactory(settings: settings ?? new Dictionary<string, string?>());
        factory.UseKestrel(0);
        factory.StartServer();
        return new KestrelEmulator(factory);
    }

    /// <summary>A client on real sockets with the bearer token, keeping at most <paramref name="connections"/> connections alive.</summary>
    public HttpClient CreateClient(int connections = 8)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, AllowAutoRedirect = false, UseProxy = false })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromMinutes(5),
        };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", EmulatorFactory.Token);
        return client;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}
