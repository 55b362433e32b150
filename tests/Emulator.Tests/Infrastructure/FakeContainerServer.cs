using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Nvcf.Emulator.Tests.Infrastructure;

/// <summary>
/// A real HTTP server standing in for function containers in the in-process tests:
/// <c>POST /echo</c> echoes, <c>POST /headers</c> returns the request headers as JSON,
/// <c>POST /slow</c> answers when <see cref="ReleaseSlow"/> is called, <c>POST /arrivals</c> tells when each piece of
/// the body arrived, health at <c>/v2/health/ready</c>.
/// </summary>
public sealed class FakeContainerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private TaskCompletionSource _slow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _slowStarted;

    public FakeContainerServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/v2/health/ready", () => Results.Ok());
        _app.MapPost("/echo", async (HttpContext context) =>
        {
            context.Response.ContentType = context.Request.ContentType;
            await context.Request.Body.CopyToAsync(context.Response.Body);
        });
        _app.MapPost("/headers", (HttpContext context) => Results.Text(
            JsonSerializer.Serialize(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)),
            "application/json"));
        _app.MapPost("/slow", async () =>
        {
            var release = _slow.Task;
            Interlocked.Increment(ref _slowStarted);
            await release;
            return Results.Text("done");
        });
        _app.MapPost("/arrivals", async (HttpContext context) =>
        {
            // When each piece of the body arrived, in milliseconds after the request did.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var arrivals = new List<long>();
            var buffer = new byte[4096];
            while (await context.Request.Body.ReadAsync(buffer) > 0)
            {
                arrivals.Add(clock.ElapsedMilliseconds);
            }

            return Results.Json(arrivals);
        });
        _app.MapPost("/fail", () => Results.Json(new { error = "model exploded" }, statusCode: 503));
        _app.MapPost("/big", () => Results.Bytes(new byte[(5 * 1024 * 1024) + 1], "application/octet-stream"));
        _app.MapPost("/events", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            for (var i = 1; i <= 3; i++)
            {
                await context.Response.WriteAsync($"data: event {i}\n\n");
                await context.Response.Body.FlushAsync();
                await Task.Delay(300);
            }
        });
        _app.Map("/any/{**rest}", (HttpContext context) => Results.Json(new
        {
            method = context.Request.Method,
            path = context.Request.Path.Value,
            query = context.Request.QueryString.Value,
            version = context.Request.Headers["NVCF-FUNCTION-VERSION-ID"].ToString(),
        }));
        _app.StartAsync().GetAwaiter().GetResult();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(address);
    }

    public Uri Address { get; }

    /// <summary>Requests that have reached <c>/slow</c> since the server started.</summary>
    public int SlowStarted => Volatile.Read(ref _slowStarted);

    /// <summary>Lets every request currently held by <c>/slow</c> answer.</summary>
    public void ReleaseSlow()
    {
        var previous = Interlocked.Exchange(ref _slow, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseSlow();
        await _app.DisposeAsync();
    }
}
