using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Nvcf.Emulator.State;

/// <summary>
/// Assets (docs/nvcf-contract.md#assets): metadata in memory, bytes in files under the work directory. Each asset is
/// its account's, as the cloud keys them by account: another account neither lists, reads, deletes nor references it.
/// </summary>
public sealed class AssetStore
{
    /// <summary>The cloud's limit on one asset.</summary>
    public const long MaxAssetBytes = 5L * 1024 * 1024 * 1024;

    private readonly ConcurrentDictionary<Guid, Asset> _assets = new();
    private readonly string _folder;

    public AssetStore(IOptions<EmulatorOptions> options)
    {
        _folder = Path.Combine(options.Value.WorkDirectory, "assets");
        Directory.CreateDirectory(_folder);
    }

    public Asset Create(string ncaId, string contentType, string description)
    {
        var asset = new Asset(Guid.NewGuid(), ncaId, contentType, description, DateTime.UtcNow);
        _assets[asset.AssetId] = asset;
        return asset;
    }

    /// <summary>The account's asset; null when there is none of that ID in the account.</summary>
    public Asset? Find(Guid assetId, string ncaId) => _assets.GetValueOrDefault(assetId) is { } asset && asset.NcaId == ncaId ? asset : null;

    /// <summary>Any account's asset: for its pre-signed upload URL, which carries no account.</summary>
    public Asset? FindForUpload(Guid assetId) => _assets.GetValueOrDefault(assetId);

    public IReadOnlyList<Asset> List(string ncaId) => [.. _assets.Values.Where(a => a.NcaId == ncaId).OrderBy(a => a.CreatedAt)];

    public bool Delete(Guid assetId, string ncaId)
    {
        if (Find(assetId, ncaId) is null || !_assets.TryRemove(assetId, out _))
        {
            return false;
        }

        File.Delete(PathOf(assetId));
        return true;
    }

    /// <summary>Stores the uploaded bytes (a new upload replaces the old).</summary>
    public async Task UploadAsync(Asset asset, Stream content, CancellationToken cancellationToken)
    {
        var temporary = PathOf(asset.AssetId) + ".upload";
        await using (var file = File.Create(temporary))
        {
            await content.CopyToAsync(file, cancellationToken);
        }

        File.Move(temporary, PathOf(asset.AssetId), overwrite: true);
        _assets[asset.AssetId] = asset with { Uploaded = true };
    }

    /// <summary>Copies an uploaded asset to where a request's container reads it (<c>NVCF-ASSET-DIR/&lt;assetId&gt;</c>).</summary>
    public void CopyTo(Guid assetId, string folder)
    {
        var target = Path.Combine(folder, assetId.ToString());
        File.Copy(PathOf(assetId), target, overwrite: true);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }

    private string PathOf(Guid assetId) => Path.Combine(_folder, assetId.ToString("N"));
}

/// <summary>One asset of account <see cref="NcaId"/>. <see cref="Uploaded"/> turns true once its bytes arrived.</summary>
public sealed record Asset(Guid AssetId, string NcaId, string ContentType, string Description, DateTime CreatedAt, bool Uploaded = false);
