// An NVCF function that streams: POST /stream "generates" tokens one at a time, like an LLM endpoint.
// With `Accept: text/event-stream` each token is a server-sent event, flushed as soon as it exists, and the stream
// ends with `data: [DONE]` (the OpenAI convention LangChain and most SSE clients parse). Without it the caller gets
// one JSON object once all tokens are done. NVCF relays event streams as they come (no 202, no zip).
using System.Text.Json;
using System.Text.Json.Serialization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, Environment.GetEnvironmentVariable("PORT") ?? "8000"); // all interfaces
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, AppJsonContext.Default));

var app = builder.Build();

app.MapPost("/stream", async Task<IResult> (StreamRequest? request, HttpContext context) =>
{
    request ??= new StreamRequest();
    if (request.Tokens is < 1 or > 10_000 || request.DelayMs is < 0 or > 60_000)
    {
        return TypedResults.BadRequest(new ErrorResponse("tokens must be 1..10000 and delayMs 0..60000.")); // NVCF shows `error` as the problem's detail
    }

    var aborted = context.RequestAborted;
    var tokens = Generate(request, aborted);
    if (!AcceptsEventStream(context.Request))
    {
        var all = new List<string>(request.Tokens);
        await foreach (var token in tokens)
        {
            all.Add(token.Token);
        }

        Console.WriteLine($"POST /stream: {all.Count} tokens as one JSON object");
        return TypedResults.Ok(new StreamResponse(all, string.Join(' ', all)));
    }

    var response = context.Response;
    response.ContentType = "text/event-stream";
    response.Headers.CacheControl = "no-cache";
    await response.StartAsync(aborted); // the headers go out now, before the first token
    await foreach (var token in tokens)
    {
        await response.WriteAsync($"data: {JsonSerializer.Serialize(token, AppJsonContext.Default.TokenEvent)}\n\n", aborted);
        await response.Body.FlushAsync(aborted); // one event, on the wire now
    }

    await response.WriteAsync("data: [DONE]\n\n", aborted);
    Console.WriteLine($"POST /stream: {request.Tokens} tokens as server-sent events");
    return Results.Empty;
});

app.MapGet("/v2/health/ready", () => Results.Ok());

app.Run();

// The "model": the prompt's words, over and over, one token every delayMs.
static async IAsyncEnumerable<TokenEvent> Generate(StreamRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
{
    var words = (request.Prompt ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    if (words.Length == 0)
    {
        words = ["token"];
    }

    for (var i = 0; i < request.Tokens; i++)
    {
        if (i > 0)
        {
            await Task.Delay(request.DelayMs, cancellationToken);
        }

        yield return new TokenEvent(words[i % words.Length], i);
    }
}

static bool AcceptsEventStream(HttpRequest request) =>
    request.GetTypedHeaders().Accept.Any(accept => accept.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));

/// <summary>The request body; every field is optional.</summary>
internal sealed record StreamRequest(string? Prompt = "Hello from NVCF", int Tokens = 5, int DelayMs = 200);

/// <summary>One server-sent event: <c>data: {"token":"...","index":0}</c>.</summary>
internal sealed record TokenEvent(string Token, int Index);

/// <summary>The answer without an event stream.</summary>
internal sealed record StreamResponse(IReadOnlyList<string> Tokens, string Text);

/// <summary>A 4xx/5xx body: NVCF turns it into problem+json with this <c>error</c> as the detail.</summary>
internal sealed record ErrorResponse(string Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(StreamRequest))]
[JsonSerializable(typeof(TokenEvent))]
[JsonSerializable(typeof(StreamResponse))]
internal sealed partial class AppJsonContext : JsonSerializerContext;
