using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Tests.Infrastructure;

/// <summary>
/// The emulator in process. With a <paramref name="runtime"/> it runs on that (a fake); without, on the real
/// Docker engine. <paramref name="settings"/> become configuration (e.g. <c>Emulator:ReadyTimeout</c>).
/// </summary>
public sealed class EmulatorFactory(IFunctionRuntime? runtime = null, IDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public const string Token = "test-token";

    /// <summary>Where the emulator serves gRPC invocations.</summary>
    public Uri GrpcAddress => Services.GetRequiredService<Nvcf.Emulator.Api.GrpcInvocationListener>().Address!;

    /// <summary>An HTTP client that sends a bearer token (<see cref="Token"/> unless given), as every NVCF call needs.</summary>
    public HttpClient CreateNvcfClient(string token = Token)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        client.Timeout = TimeSpan.FromMinutes(5);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Emulator:ReadyTimeout", "00:00:20");
        builder.UseSetting("Emulator:GrpcUrl", "http://127.0.0.1:0");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        if (runtime is not null)
        {
            builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton(runtime)));
        }
    }
}
