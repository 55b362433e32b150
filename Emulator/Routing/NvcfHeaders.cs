namespace Nvcf.Emulator.Routing;

/// <summary>
/// Header names of the NVCF invocation contract (docs/nvcf-contract.md#waiting-and-polling,
/// docs/nvcf-contract.md#request-headers).
/// </summary>
public static class NvcfHeaders
{
    public const string RequestId = "NVCF-REQID";
    public const string Status = "NVCF-STATUS";
    public const string PollSeconds = "NVCF-POLL-SECONDS";
    public const string PercentComplete = "NVCF-PERCENT-COMPLETE";
    public const string Sub = "NVCF-SUB";
    public const string NcaId = "NVCF-NCAID";
    public const string FunctionName = "NVCF-FUNCTION-NAME";
    public const string FunctionId = "NVCF-FUNCTION-ID";
    public const string FunctionVersionId = "NVCF-FUNCTION-VERSION-ID";
    public const string AssetDir = "NVCF-ASSET-DIR";
    public const string LargeOutputDir = "NVCF-LARGE-OUTPUT-DIR";
    public const string MaxResponseSizeBytes = "NVCF-MAX-RESPONSE-SIZE-BYTES";
    public const string NspectId = "NVCF-NSPECTID";
    public const string Backend = "NVCF-BACKEND";
    public const string InstanceType = "NVCF-INSTANCETYPE";
    public const string Region = "NVCF-REGION";
    public const string Env = "NVCF-ENV";
    public const string FunctionAssetIds = "NVCF-FUNCTION-ASSET-IDS";
    public const string InvocationRegion = "NVCF-INVOCATION-REGION";
    public const string InputAssetReferences = "NVCF-INPUT-ASSET-REFERENCES";

    public const string StatusFulfilled = "fulfilled";
    public const string StatusInProgress = "in-progress";
    public const string StatusErrored = "errored";

    /// <summary>Largest body returned inline (5 MiB); the container sees it as <see cref="MaxResponseSizeBytes"/>.</summary>
    public const int MaxDirectResponseSizeBytes = 5 * 1024 * 1024;

    /// <summary><c>NVCF-STATUS</c> for a final HTTP status: in-progress for 202, errored from 400, else fulfilled.</summary>
    public static string StatusFor(int statusCode) => statusCode switch
    {
        202 => StatusInProgress,
        >= 400 => StatusErrored,
        _ => StatusFulfilled,
    };

    /// <summary>Set by the platform on the way to the container; copies sent by clients are dropped.</summary>
    public static readonly IReadOnlySet<string> PlatformOwned = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        RequestId, Sub, NcaId, FunctionName, FunctionId, FunctionVersionId, AssetDir, LargeOutputDir,
        MaxResponseSizeBytes, NspectId, Backend, InstanceType, Region, Env, FunctionAssetIds, InvocationRegion, PollSeconds,
    };
}
