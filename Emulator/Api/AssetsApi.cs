using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Assets (docs/nvcf-contract.md#assets): create one to get an upload URL, PUT the bytes there (no bearer token: the
/// URL is pre-signed, see <see cref="PresignedUrls"/>, and expires after
/// <see cref="EmulatorOptions.AssetUploadUrlLifetime"/>), then pass its ID in <c>NVCF-INPUT-ASSET-REFERENCES</c>; the
/// container finds it at <c>NVCF-ASSET-DIR/&lt;assetId&gt;</c>.
/// </summary>
public static class AssetsApi
{
    public const string UploadPrefix = "/nvcf-emulator/assets";

    public static IEndpointRouteBuilder MapAssetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/assets").WithTags("Assets").RequireScope(Scopes.InvokeFunction);
        api.MapPost("/", CreateAsset).WithName("CreateAsset").WithSummary("Create an asset and get its upload URL");
        api.MapGet("/", (AssetStore assets, Caller caller) => TypedResults.Ok(new AssetListResponse([.. assets.List(caller.NcaId).Select(AssetDto.From)])))
            .WithName("ListAssets").WithSummary("List assets");
        api.MapGet("/{assetId}", GetAsset).WithName("GetAsset").WithSummary("Get an asset");
        api.MapDelete("/{assetId}", DeleteAsset).WithName("DeleteAsset").WithSummary("Delete an asset");
        app.MapPut(UploadPrefix + "/{assetId}", Upload).WithTags("Assets").WithName("UploadAsset").WithSummary("Upload an asset's content (its presigned URL)");
        return app;
    }

    public static Results<Ok<CreateAssetResponse>, ProblemHttpResult> CreateAsset(
        CreateAssetRequest request, HttpRequest http, AssetStore assets, PresignedUrls urls, IOptions<EmulatorOptions> options, Caller caller)
    {
        if (string.IsNullOrWhiteSpace(request.ContentType))
        {
            return Problems.BadRequest(FunctionValidation.Field("createAssetRequest", "contentType", request.ContentType, "must not be blank"));
        }

        if (string.IsNullOrWhiteSpace(request.Description))
        {
            return Problems.BadRequest(FunctionValidation.Field("createAssetRequest", "description", request.Description, "must not be blank"));
        }

        var asset = assets.Create(caller.NcaId, request.ContentType, request.Description);
        var uploadUrl = $"{http.Scheme}://{http.Host}{urls.Sign($"{UploadPrefix}/{asset.AssetId}", options.Value.AssetUploadUrlLifetime)}";
        return TypedResults.Ok(new CreateAssetResponse(asset.AssetId, uploadUrl, asset.ContentType, asset.Description));
    }

    public static Results<Ok<AssetResponse>, ProblemHttpResult> GetAsset(Guid assetId, AssetStore assets, Caller caller) =>
        assets.Find(assetId, caller.NcaId) is { } asset ? TypedResults.Ok(new AssetResponse(AssetDto.From(asset))) : NotFound(assetId);

    public static Results<NoContent, ProblemHttpResult> DeleteAsset(Guid assetId, AssetStore assets, Caller caller) =>
        assets.Delete(assetId, caller.NcaId) ? TypedResults.NoContent() : NotFound(assetId);

    public static async Task<Results<Ok, ProblemHttpResult>> Upload(Guid assetId, HttpContext context, AssetStore assets, PresignedUrls urls)
    {
        if (urls.Check(context.Request) is { } refused)
        {
            return refused;
        }

        if (assets.FindForUpload(assetId) is not { } asset)
        {
            return NotFound(assetId);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = AssetStore.MaxAssetBytes;
        }

        await assets.UploadAsync(asset, context.Request.Body, context.RequestAborted);
        return TypedResults.Ok();
    }

    /// <summary>
    /// Parses <c>NVCF-INPUT-ASSET-REFERENCES</c> (comma-separated, the header may repeat): null with the problem
    /// when an ID is not a UUID (400) or not an uploaded asset of the caller's account <paramref name="ncaId"/> (404).
    /// </summary>
    public static IReadOnlyList<Guid>? ParseReferences(IEnumerable<string?> values, AssetStore assets, string ncaId, out Routing.Rejected? problem)
    {
        problem = null;
        var ids = new List<Guid>();
        foreach (var value in values.SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!Guid.TryParse(value, out var id))
            {
                problem = new(StatusCodes.Status400BadRequest, $"Invalid asset id '{value}' in {Routing.NvcfHeaders.InputAssetReferences}: expected a UUID");
                return null;
            }

            if (assets.Find(id, ncaId) is not { Uploaded: true })
            {
                problem = new(StatusCodes.Status404NotFound, AssetNotFound(id));
                return null;
            }

            ids.Add(id);
        }

        return ids;
    }

    private static ProblemHttpResult NotFound(Guid assetId) => Problems.NotFound(AssetNotFound(assetId));

    private static string AssetNotFound(Guid assetId) => $"Asset id '{assetId}' not found";
}
