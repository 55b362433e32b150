using System.IO.Compression;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api;
using Nvcf.Emulator.Diagnostics;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// Large results (docs/nvcf-contract.md#large-responses): a zip of <c>&lt;requestId&gt;.response</c> plus the regular
/// files of the request's large-output folder (read by <see cref="OutputFolder"/>: no link followed, nothing from
/// outside the folder), kept for <see cref="EmulatorOptions.LargeResultRetention"/> and served without a bearer token
/// at a pre-signed URL (<see cref="PresignedUrls"/>) that expires with it, like the cloud's download URL.
/// </summary>
public sealed class LargeResults
{
    public const string RoutePrefix = "/nvcf-emulator/results";

    private readonly string _folder;
    private readonly TimeSpan _retention;
    private readonly PresignedUrls _urls;
    private readonly ILogger<LargeResults> _logger;

    public LargeResults(IOptions<EmulatorOptions> options, PresignedUrls urls, ILogger<LargeResults> logger)
    {
        _folder = Path.Combine(options.Value.WorkDirectory, "results");
        _retention = options.Value.LargeResultRetention;
        _urls = urls;
        _logger = logger;
        Directory.CreateDirectory(_folder);
    }

    /// <summary>
    /// True when the worker would switch to large-response mode and the headers already tell: a body declared over
    /// 5 MiB (Content-Length) or any file in the large-output folder. A body of unknown length is told by reading it
    /// (<see cref="BodyHead"/>).
    /// </summary>
    public static bool IsLarge(long? contentLength, Runtime.RequestFolders folders) =>
        contentLength > NvcfHeaders.MaxDirectResponseSizeBytes || folders.HasLargeOutputs();

    /// <summary>Zips the body and the large outputs; returns the pre-signed path to download it from.</summary>
    public Task<string> StoreAsync(Guid requestId, Stream body, Runtime.RequestFolders folders, CancellationToken cancellationToken) =>
        StoreAsync(requestId, ReadOnlyMemory<byte>.Empty, body, folders, cancellationToken);

    /// <summary>
    /// Zips a body already partly read (<paramref name="head"/>, then the rest from <paramref name="rest"/>) and the
    /// large outputs, streaming the rest straight into the zip; returns the pre-signed path to download it from.
    /// </summary>
    public async Task<string> StoreAsync(Guid requestId, ReadOnlyMemory<byte> head, Stream rest, Runtime.RequestFolders folders, CancellationToken cancellationToken)
    {
        Sweep();
        var path = PathOf(requestId);
        await using (var file = File.Create(path))
        await using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
        {
            await using (var entry = await zip.CreateEntry(requestId + ".response", CompressionLevel.Fastest).OpenAsync(cancellationToken))
            {
                await entry.WriteAsync(head, cancellationToken);
                await rest.CopyToAsync(entry, cancellationToken);
            }

            var outputs = OutputFolder.RegularFiles(
                folders.Response,
                exclude: static name => name == Runtime.RequestFolders.ProgressFile,
                skipped: (name, reason) => _logger.LargeOutputSkipped(requestId, name, reason));
            foreach (var output in outputs)
            {
                await using (output.Content)
                await using (var entry = await zip.CreateEntry(output.Name, CompressionLevel.Fastest).OpenAsync(cancellationToken))
                {
                    await output.Content.CopyToAsync(entry, cancellationToken);
                }
            }
        }

        return _urls.Sign($"{RoutePrefix}/{requestId}.zip", _retention);
    }

    /// <summary>Where the zip of <paramref name="requestId"/> is, while it is kept; null when there is none or it expired.</summary>
    public string? Find(Guid requestId)
    {
        var path = PathOf(requestId);
        return File.Exists(path) && File.GetLastWriteTimeUtc(path) + _retention > DateTime.UtcNow ? path : null;
    }

    private string PathOf(Guid requestId) => Path.Combine(_folder, requestId + ".zip");

    private void Sweep()
    {
        foreach (var file in Directory.EnumerateFiles(_folder, "*.zip"))
        {
            if (File.GetLastWriteTimeUtc(file) + _retention < DateTime.UtcNow)
            {
                File.Delete(file);
            }
        }
    }
}
