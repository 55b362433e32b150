// A long-running NVCF function: POST /run works through `steps` steps of `stepMs` each and reports progress the
// NVCF way, by (over)writing the file `progress` in the request's large-output folder (header NVCF-LARGE-OUTPUT-DIR):
//   {"id": "<NVCF-REQID>", "progress": 40, "partialResponse": {"step": 2, "of": 5}}
// A caller polling the request gets each report as a 202 with NVCF-PERCENT-COMPLETE and the partialResponse as body.
// Any other file left in that folder (here result-1.txt, ...) makes the platform answer with a zip behind a 302.
// Outside NVCF (no header) it does the same work and skips the files.
using System.Text.Json;
using System.Text.Json.Serialization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, Environment.GetEnvironmentVariable("PORT") ?? "8000"); // all interfaces
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, AppJsonContext.Default));

var app = builder.Build();

app.MapPost("/run", async Task<IResult> (RunRequest? request, HttpContext context) =>
{
    request ??= new RunRequest();
    if (request.Steps is < 1 or > 10_000 || request.StepMs is < 0 or > 3_600_000 || request.OutputFiles is < 0 or > 100)
    {
        return TypedResults.BadRequest(new ErrorResponse("steps must be 1..10000, stepMs 0..3600000 and outputFiles 0..100.")); // NVCF shows `error` as the problem's detail
    }

    var requestId = context.Request.Headers["NVCF-REQID"].ToString();
    var outputDir = context.Request.Headers["NVCF-LARGE-OUTPUT-DIR"].ToString();
    var inNvcf = requestId.Length > 0 && outputDir.Length > 0;
    var aborted = context.RequestAborted; // NVCF cancels the request when its caller stops polling
    Console.WriteLine($"POST /run: {request.Steps} steps of {request.StepMs} ms, {(inNvcf ? "request " + requestId : "outside NVCF (no progress or output files)")}");

    for (var step = 1; step <= request.Steps; step++)
    {
        await Task.Delay(request.StepMs, aborted); // the work of one step
        if (inNvcf)
        {
            var report = new ProgressReport(requestId, step * 100 / request.Steps, new StepInfo(step, request.Steps));
            await WriteProgressAsync(outputDir, report, aborted);
        }
    }

    if (inNvcf)
    {
        for (var i = 1; i <= request.OutputFiles; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(outputDir, $"result-{i}.txt"), $"Result {i} of request {requestId}: {request.Steps} steps done.\n", aborted);
        }
    }

    return TypedResults.Ok(new RunResponse(request.Steps, Done: true));
});

app.MapGet("/v2/health/ready", () => Results.Ok());

app.Run();

// The platform reads `progress` whenever its modification time changes, so a reader must never see half a file:
// write a temporary file next to it, then rename it over `progress` (atomic within one folder).
static async Task WriteProgressAsync(string outputDir, ProgressReport report, CancellationToken cancellationToken)
{
    Directory.CreateDirectory(outputDir); // NVCF creates it; harmless when it exists
    var temporary = Path.Combine(outputDir, ".progress.tmp");
    await File.WriteAllBytesAsync(temporary, JsonSerializer.SerializeToUtf8Bytes(report, AppJsonContext.Default.ProgressReport), cancellationToken);
    File.Move(temporary, Path.Combine(outputDir, "progress"), overwrite: true);
}

/// <summary>The request body; every field is optional.</summary>
internal sealed record RunRequest(int Steps = 5, int StepMs = 1000, int OutputFiles = 0);

/// <summary>The answer once all steps are done.</summary>
internal sealed record RunResponse(int Steps, bool Done);

/// <summary>The NVCF progress file: the request id (must match), a percentage 0..100 and any JSON object.</summary>
internal sealed record ProgressReport(string Id, int Progress, StepInfo PartialResponse);

internal sealed record StepInfo(int Step, int Of);

/// <summary>A 4xx/5xx body: NVCF turns it into problem+json with this <c>error</c> as the detail.</summary>
internal sealed record ErrorResponse(string Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(RunRequest))]
[JsonSerializable(typeof(RunResponse))]
[JsonSerializable(typeof(ProgressReport))]
internal sealed partial class AppJsonContext : JsonSerializerContext;
