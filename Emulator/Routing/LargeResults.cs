using System.IO.Compression;
using Microsoft.Extensions.Options;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// Large results (§4.5): a zip of <c>&lt;requestId&gt;.response</c> plus the files of the request's large-output
/// folder, kept for a while and served without a bearer token, like the cloud's pre-signed download URL.
/// </summary>
public sealed class LargeResults
{
    public const string RoutePrefix = "/nvcf-emulator/results";

    private readonly string _folder;
    private readonly TimeSpan _retention;

    public LargeResults(IOptions<EmulatorOptions> options)
    {
        _folder = Path.Combine(options.Value.WorkDirectory, "results");
        _retention = options.Value.LargeResultRetention;
        Directory.CreateDirectory(_folder);
    }

    /// <summary>
    /// True when the worker would switch to large-response mode: a body over 5 MiB (known from
    /// Content-Length) or any file in the large-output folder.
    /// </summary>
    public static bool IsLarge(long? contentLength, Runtime.RequestFolders folders) =>
        contentLength > NvcfHeaders.MaxDirectResponseSizeBytes || folders.HasLargeOutputs();

    /// <summary>Zips the body and the large outputs; returns the path to download it from.</summary>
    public async Task<string> StoreAsync(Guid requestId, Stream body, Runtime.RequestFolders folders, CancellationToken cancellationToken)
    {
        Sweep();
        var path = PathOf(requestId);
        await using (var file = File.Create(path))
        await using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
        {
            await using (var entry = await zip.CreateEntry(requestId + ".response", CompressionLevel.Fastest).OpenAsync(cancellationToken))
            {
                await body.CopyToAsync(entry, cancellationToken);
            }

            foreach (var output in folders.LargeOutputs())
            {
                var name = Path.GetRelativePath(folders.Response, output).Replace(Path.DirectorySeparatorChar, '/');
                await zip.CreateEntryFromFileAsync(output, name, CompressionLevel.Fastest, cancellationToken);
            }
        }

        return $"{RoutePrefix}/{requestId}.zip";
    }

    public IResult Download(Guid requestId)
    {
        var path = PathOf(requestId);
        return File.Exists(path) && File.GetLastWriteTimeUtc(path) + _retention > DateTime.UtcNow
            ? Results.File(path, "application/zip", requestId + ".zip")
            : Api.Problems.NotFound($"Result '{requestId}' does not exist or has expired.");
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
