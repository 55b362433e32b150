// A web app that invokes an NVCF function. Under Aspire it finds the emulator by service discovery: the app host's
// WithReference(emulator) injects services__nvcf-emulator__http__0, and the "https+http://nvcf-emulator" base
// address resolves to it. Against the cloud, only configuration changes (see README.md).
using System.Net.Mime;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Nvcf.Client;
using Nvcf.DiscoveryClient;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(); // includes AddServiceDiscovery() on every HttpClient

builder.Services.Configure<NvcfOptions>(builder.Configuration.GetSection(NvcfOptions.SectionName));
builder.Services.AddHttpClient(NvcfOptions.HttpClientName, (services, http) =>
    {
        var baseUrl = services.GetRequiredService<IOptions<NvcfOptions>>().Value.BaseUrl.TrimEnd('/') + "/";
        http.BaseAddress = new Uri(baseUrl);
        http.Timeout = Timeout.InfiniteTimeSpan; // a pexec call may block for NVCF-POLL-SECONDS
    })
    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false }); // a 302 is a large result
builder.Services.AddTransient(services => new NvcfClient(
    services.GetRequiredService<IHttpClientFactory>().CreateClient(NvcfOptions.HttpClientName),
    services.GetRequiredService<IOptions<NvcfOptions>>().Value.ApiKey));
builder.Services.AddSingleton<FunctionLocator>();

var app = builder.Build();
app.MapDefaultEndpoints();

// GET /ask?text=hi: sends {"text": "hi"} to the function through pexec and answers with the function's response.
app.MapGet("/ask", async (string text, NvcfClient nvcf, FunctionLocator locator, CancellationToken cancellationToken) =>
{
    var functionId = await locator.FunctionIdAsync(cancellationToken);
    var body = new JsonObject { ["text"] = text };
    var result = await nvcf.InvokeAsync(functionId, versionId: null, new StringContent(body.ToJsonString(), null, MediaTypeNames.Application.Json), pollSeconds: 30, cancellationToken: cancellationToken);
    return result switch
    {
        { ResultUrl: { } zip } => Results.Text($"large result: {zip}"),
        { IsSuccess: true } => Results.Text(result.BodyText, result.ContentType),
        _ => Results.Problem(result.Problem?.Detail, statusCode: (int)result.StatusCode, title: result.Problem?.Title),
    };
});

app.Run();
