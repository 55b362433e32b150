using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// The caller's body on its way to the instance, sent as it arrives: each read is written and flushed at once.
/// (<see cref="StreamContent"/> leaves small writes in the connection's buffer until it fills or the body ends, so a
/// body that arrives slowly, such as a client-streaming gRPC call, would reach the function only at its end.)
/// <para>
/// The caller's body belongs to the caller's HTTP exchange: once that exchange is answered, the server discards what
/// is left of it, and on a kept-alive connection the next bytes are another request's. An invocation that answers
/// before its forward is done (a 202) first calls <see cref="TakeOverAsync"/>, which reads the rest of the caller's
/// body into a buffer of the invocation's own; the forward goes on from there.
/// </para>
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private const int BufferSize = 64 * 1024;

    /// <summary>
    /// A taken-over body past this size goes to a temporary file. One byte over <see cref="FileBufferingReadStream"/>'s
    /// largest rented buffer (1 MiB): at or under it, the stream rents a buffer of the whole threshold for every body,
    /// however small; over it, it keeps the body in a memory stream that grows only as far as the body does.
    /// </summary>
    private const int InMemoryBytes = (1024 * 1024) + 1;

    private readonly SemaphoreSlim _reading = new(1, 1);
    private readonly int _bufferSize;
    private Stream _source;
    private FileBufferingReadStream? _taken;

    private StreamingRequestContent(Stream source, long? length)
    {
        _source = source;
        // A declared body smaller than the usual buffer gets a buffer its size plus one byte, to see its end in one read.
        _bufferSize = length is > 0 and < BufferSize ? (int)length + 1 : BufferSize;
    }

    /// <summary>The caller's body, or null when the request has none.</summary>
    public static StreamingRequestContent? ForCaller(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? context.Request.ContentLength > 0
            ? new StreamingRequestContent(context.Request.Body, context.Request.ContentLength)
            : null;

    /// <summary>
    /// Reads what the instance has not yet taken of the caller's body into memory (a temporary file past 1 MiB), so
    /// that the caller's exchange can end while the forward goes on. Returns once the caller's body has been read to
    /// its end; throws what reading it throws (the caller went away, the body is over the size limit).
    /// </summary>
    public async Task TakeOverAsync(CancellationToken cancellationToken)
    {
        await _reading.WaitAsync(cancellationToken);
        try
        {
            if (_taken is not null)
            {
                return;
            }

            var taken = new FileBufferingReadStream(_source, InMemoryBytes, bufferLimit: null, Path.GetTempPath);
            await taken.DrainAsync(cancellationToken);
            taken.Position = 0;
            _taken = taken;
            _source = taken;
        }
        finally
        {
            _reading.Release();
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_bufferSize);
        try
        {
            while (await ReadAsync(buffer.AsMemory(0, _bufferSize), cancellationToken) is var read and > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false; // the caller's Content-Length, when it sent one, is copied as a header
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _taken?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>One read at a time, so that a take-over never races the forward for the caller's bytes.</summary>
    private async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await _reading.WaitAsync(cancellationToken);
        try
        {
            return await _source.ReadAsync(buffer, cancellationToken);
        }
        finally
        {
            _reading.Release();
        }
    }
}
