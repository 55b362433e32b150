using System.Buffers;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// The start of a body whose length nobody declared (chunked, or ended by closing the connection), read until it ends
/// or grows past a limit (docs/nvcf-contract.md#large-responses): at most the limit plus one read is held, in a pooled
/// buffer, so an answer is told small or large without ever holding a large one whole.
/// </summary>
internal sealed class BodyHead : IDisposable
{
    private const int ReadSize = 16 * 1024;

    private byte[] _buffer;

    private BodyHead(byte[] buffer, int length, bool complete)
    {
        _buffer = buffer;
        Length = length;
        Complete = complete;
    }

    /// <summary>What was read: the whole body when <see cref="Complete"/>, else its first bytes (more than the limit).</summary>
    public ReadOnlyMemory<byte> Bytes => _buffer.AsMemory(0, Length);

    public int Length { get; }

    /// <summary>The body ended within the limit; otherwise the rest is still to be read from the stream.</summary>
    public bool Complete { get; }

    /// <summary>Reads <paramref name="body"/> until it ends or more than <paramref name="limit"/> bytes have arrived.</summary>
    public static async Task<BodyHead> ReadAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, (long)limit + ReadSize));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length - length, ReadSize)), cancellationToken);
                if (read == 0)
                {
                    return new BodyHead(buffer, length, complete: true);
                }

                length += read;
                if (length > limit)
                {
                    return new BodyHead(buffer, length, complete: false);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
