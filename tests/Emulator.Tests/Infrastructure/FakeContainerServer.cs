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
/// <c>POST /slow</c> answers when <see cref="ReleaseSlow"/> is called, <c>POST /unsized</c> answers <c>X-Size</c> bytes
/// without <c>Content-Length</c>, <c>POST /arrivals</c> tells when each piece of
/// the body arrived, health at <c>/v2/health/ready</c>, and at <c>/health/{name}</c> a health check that fails
/// (503) while <see cref="SetHealthy"/> or <see cref="FailNext"/> says so.
/// </summary>
public sealed class FakeContainerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private TaskCompletionSource _slow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _slowStarted;
    private readonly Lock _healthGate = new();
    private readonly Dictionary<string, HealthCheck> _health = [];

    public FakeContainerServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/v2/health/ready", () => Results.Ok());
        _app.MapGet("/health/{name}", (string name) => Check(name) ? Results.Ok() : Results.StatusCode(503));
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
        _app.MapPost("/unsized", async (HttpContext context) =>
        {
            // X-Size bytes of Pattern, chunked: no Content-Length, so nobody knows the size before the end.
            context.Response.ContentType = "application/octet-stream";
            var body = Pattern(int.Parse(context.Request.Headers["X-Size"].ToString(), System.Globalization.CultureInfo.InvariantCulture));
            for (var offset = 0; offset < body.Length; offset += 64 * 1024)
            {
                await context.Response.Body.WriteAsync(body.AsMemory(offset, Math.Min(64 * 1024, body.Length - offset)));
                await context.Response.Body.FlushAsync();
            }
        });
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

    /// <summary>What <c>/unsized</c> answers: <paramref name="size"/> bytes that differ from one position to the next.</summary>
    public static byte[] Pattern(int size) => [.. Enumerable.Range(0, size).Select(i => (byte)(i % 251))];

    /// <summary>Requests that have reached <c>/slow</c> since the server started.</summary>
    public int SlowStarted => Volatile.Read(ref _slowStarted);

    /// <summary>Makes <c>GET /health/{name}</c> pass (200) or fail (503) from now on.</summary>
    public void SetHealthy(string name, bool healthy)
    {
        lock (_healthGate)
        {
            Health(name).Unhealthy = !healthy;
        }
    }

    /// <summary>Makes the next <paramref name="count"/> answers of <c>GET /health/{name}</c> fail (503).</summary>
    public void FailNext(string name, int count)
    {
        lock (_healthGate)
        {
            Health(name).FailuresToGive = count;
        }
    }

    /// <summary>How many times <c>GET /health/{name}</c> has answered, and how many of those were failures.</summary>
    public (int Answered, int Failed) HealthChecks(string name)
    {
        lock (_healthGate)
        {
            var check = Health(name);
            return (check.Answered, check.Failed);
        }
    }

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

    private bool Check(string name)
    {
        lock (_healthGate)
        {
            var check = Health(name);
            check.Answered++;
            var healthy = !check.Unhealthy && check.FailuresToGive == 0;
            check.FailuresToGive = Math.Max(0, check.FailuresToGive - 1);
            check.Failed += healthy ? 0 : 1;
            return healthy;
        }
    }

    private HealthCheck Health(string name) =>
        _health.TryGetValue(name, out var check) ? check : _health[name] = new HealthCheck();

    private sealed class HealthCheck
    {
        public bool Unhealthy { get; set; }

        public int FailuresToGive { get; set; }

        public int Answered { get; set; }

        public int Failed { get; set; }
    }
}
