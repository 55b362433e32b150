using Nvcf.Emulator.Api;
using Nvcf.Emulator.Diagnostics;

namespace Nvcf.Emulator;

/// <summary>
/// The emulator as an application: its composition and request pipeline, shared by the server (no verb) and by the
/// verbs that run it in process, such as <c>validate</c>.
/// </summary>
public static class EmulatorApp
{
    /// <summary>Builds the emulator; <paramref name="configure"/> may change settings before the services are built.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Settings come from next to the binary, wherever it is started from (dotnet run, dotnet <dll>, the app host).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);
        builder.AddServiceDefaults(EmulatorTelemetry.Name);
        builder.AddNvcfEmulator();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseHttpInvocation();
        app.UseOrgScopedAliases();
        app.UseBearerAuthorization();
        app.UseRouting();
        app.UseScopeAuthorization();

        app.MapDefaultEndpoints();
        app.MapNvcfApi();
        return app;
    }
}
