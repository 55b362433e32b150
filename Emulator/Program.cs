using Nvcf.Emulator;
using Nvcf.Emulator.Api;
using Nvcf.Emulator.Diagnostics;

// Settings come from next to the binary, wherever it is started from (dotnet run, dotnet <dll>, the app host).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddServiceDefaults(EmulatorTelemetry.Name);
builder.AddNvcfEmulator();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseHttpInvocation();
app.UseOrgScopedAliases();
app.UseBearerAuthorization();
app.UseRouting();

app.MapDefaultEndpoints();
app.MapNvcfApi();
app.Run();

/// <summary>The emulator's entry point; public so tests can host it in process.</summary>
public partial class Program;
