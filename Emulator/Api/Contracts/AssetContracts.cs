using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api.Contracts;

public sealed record CreateAssetRequest(string? ContentType, string? Description);

public sealed record CreateAssetResponse(Guid AssetId, string UploadUrl, string ContentType, string Description);

public sealed record AssetDto(Guid AssetId, string Description, string ContentType, DateTime CreatedAt)
{
    public static AssetDto From(Asset asset) => new(asset.AssetId, asset.Description, asset.ContentType, asset.CreatedAt);
}

public sealed record AssetResponse(AssetDto Asset);

public sealed record AssetListResponse(IReadOnlyList<AssetDto> Assets);
