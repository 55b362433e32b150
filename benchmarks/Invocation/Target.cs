using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// One URL under load, with its own client (same settings for every target): HTTP/1.1 only, no proxy, no
/// redirects, no cookies, no decompression, no trace headers, enough pooled connections for the load. Each
/// request is a fresh <see cref="HttpRequestMessage"/> over the same body bytes; each answer is read to the end
/// into a buffer of the worker's own, and counts as an error unless it is a 200 with the body's length.
/// </summary>
internal sealed class Target : IDisposable
{
    private const int MaxErrorsBeforeAbort = 100;

    private readonly HttpMessageInvoker _client;
    private readonly byte[] _body;
    private long _errors;
    private string? _firstError;

    public Target(string name, Uri url, byte[] body, int connections)
    {
        Name = name;
        Url = url;
        _body = body;
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = Math.Max(32, connections),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ActivityHeadersPropagator = null,
            EnableMultipleHttp2Connections = false,
        });
    }

    public string Name { get; }

    public Uri Url { get; }

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstError => _firstError;

    /// <summary>A buffer for one worker's answers (returned with <see cref="ReturnBuffer"/>).</summary>
    public byte[] RentBuffer() => ArrayPool<byte>.Shared.Rent(Math.Max(4096, _body.Length * 2));

    public static void ReturnBuffer(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    /// <summary>Sends one request and reads the whole answer; returns the bytes read, or -1 (counted as an error).</summary>
    public async ValueTask<int> SendAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(_body),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer x");
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");

        try
        {
            using var response = await _client.SendAsync(request, cancellationToken);
            // The handler hands over the body unbuffered; read it to the end ourselves.
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
            {
                total += read;
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                var text = System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Min(total, 400));
                return Fail($"HTTP {(int)response.StatusCode}: {text}");
            }

            return total == _body.Length ? total
                : total == buffer.Length ? Fail($"answer longer than {buffer.Length} bytes, expected {_body.Length}")
                : Fail($"answer of {total} bytes, expected {_body.Length}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return Fail(e.Message);
        }
    }

    /// <summary>
    /// Latency test: <paramref name="count"/> requests one after the other on one connection, each timed with
    /// <see cref="Stopwatch"/> timestamps into <paramref name="ticks"/> (from <paramref name="offset"/>).
    /// </summary>
    public async Task RunSequentialAsync(int count, long[]? ticks, int offset, CancellationToken cancellationToken)
    {
        var buffer = RentBuffer();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await SendAsync(buffer, cancellationToken);
                var elapsed = Stopwatch.GetTimestamp() - started;
                if (ticks is not null)
                {
                    ticks[offset + i] = elapsed;
                }
            }
        }
        finally
        {
            ReturnBuffer(buffer);
        }
    }

    /// <summary>
    /// Throughput test: <paramref name="connections"/> workers, each sending back to back until
    /// <paramref name="duration"/> is over. Returns the answers completed and the time until the last one.
    /// </summary>
    public async Task<(long Completed, TimeSpan Elapsed)> RunConcurrentAsync(int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task<long>[connections];
        for (var c = 0; c < connections; c++)
        {
            workers[c] = Task.Run(() => WorkerAsync(stopAt, cancellationToken), cancellationToken);
        }

        var counts = await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return (counts.Sum(), elapsed);
    }

    public void Dispose() => _client.Dispose();

    private async Task<long> WorkerAsync(long stopAt, CancellationToken cancellationToken)
    {
        var buffer = RentBuffer();
        long completed = 0;
        try
        {
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                if (await SendAsync(buffer, cancellationToken) >= 0)
                {
                    completed++;
                }
            }
        }
        finally
        {
            ReturnBuffer(buffer);
        }

        return completed;
    }

    private int Fail(string message)
    {
        Interlocked.CompareExchange(ref _firstError, message, null);
        if (Interlocked.Increment(ref _errors) >= MaxErrorsBeforeAbort)
        {
            throw new InvalidOperationException($"{Name}: {MaxErrorsBeforeAbort} failed requests, giving up. First failure: {_firstError}");
        }

        return -1;
    }
}
