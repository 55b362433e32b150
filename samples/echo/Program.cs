// The smallest NVCF-compatible function: POST /echo answers with the request body, unchanged.
// NVCF sends inference requests to the container's port (8000 unless configured) and probes a health path.
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, Environment.GetEnvironmentVariable("PORT") ?? "8000"); // all interfaces
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning); // one line per request is ours, below
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null); // echo any size, as NVCF delivers it

var app = builder.Build();

// Injected by the emulator (as by NVCF), so a caller can tell which function version answered.
var functionVersionId = Environment.GetEnvironmentVariable("NVCF_FUNCTION_VERSION_ID");
var echoVersion = Environment.GetEnvironmentVariable("ECHO_VERSION");

app.Use(async (context, next) =>
{
    var started = TimeProvider.System.GetTimestamp();
    if (!string.IsNullOrEmpty(functionVersionId))
    {
        context.Response.Headers["X-Echo-Function-Version-Id"] = functionVersionId;
    }

    if (!string.IsNullOrEmpty(echoVersion))
    {
        context.Response.Headers["X-Echo-Version"] = echoVersion;
    }

    // X-Echo-Delay-Ms: wait that long before reading the request, to try out a slow function.
    if (int.TryParse(context.Request.Headers["X-Echo-Delay-Ms"], out var delayMs) && delayMs > 0)
    {
        await Task.Delay(delayMs, context.RequestAborted);
    }

    await next(context);
    var elapsed = TimeProvider.System.GetElapsedTime(started);
    Console.WriteLine($"{context.Request.Method} {context.Request.Path} -> {context.Response.StatusCode} in {elapsed.TotalMilliseconds:F1} ms");
});

app.MapPost("/echo", async (HttpContext context) =>
{
    // Stream the body straight back: same bytes, same Content-Type, no buffering.
    context.Response.ContentType = context.Request.ContentType;
    context.Response.ContentLength = context.Request.ContentLength;
    await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted);
});

// Reads the whole request, then answers with its size and FNV-1a (64-bit) hash: a function that takes large inputs.
app.MapPost("/digest", async (HttpContext context) =>
{
    var buffer = new byte[64 * 1024];
    var hash = 14695981039346656037UL;
    long length = 0;
    int read;
    while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
    {
        foreach (var b in buffer.AsSpan(0, read))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        length += read;
    }

    return Results.Text($"{length} {hash:x16}");
});

app.MapGet("/v2/health/ready", () => Results.Ok());
app.MapGet("/health", () => Results.Ok());

app.Run();
