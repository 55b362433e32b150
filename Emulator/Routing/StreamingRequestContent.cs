using System.Buffers;
using System.Net;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// The caller's body on its way to the instance, sent as it arrives: each read is written and flushed at once.
/// (<see cref="StreamContent"/> leaves small writes in the connection's buffer until it fills or the body ends, so a
/// body that arrives slowly, such as a client-streaming gRPC call, would reach the function only at its end.)
/// </summary>
internal sealed class StreamingRequestContent(Stream source) : HttpContent
{
    private const int BufferSize = 64 * 1024;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
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
}
