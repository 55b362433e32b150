using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>Log messages of the integration, to the app host's console and to the function resources' logs.</summary>
internal static partial class NvcfLog
{
    [LoggerMessage(1, LogLevel.Information, "Creating NVCF function '{Name}' (image {Image}) on the emulator at {BaseAddress}")]
    public static partial void CreatingFunction(ILogger logger, string name, string image, Uri baseAddress);

    [LoggerMessage(2, LogLevel.Information, "Created function {FunctionId}, version {VersionId}")]
    public static partial void FunctionCreated(ILogger logger, Guid functionId, Guid versionId);

    [LoggerMessage(3, LogLevel.Information, "Deploying: {Deployment}")]
    public static partial void Deploying(ILogger logger, string deployment);

    [LoggerMessage(4, LogLevel.Information, "Function status: {Status}")]
    public static partial void StatusChanged(ILogger logger, string status);

    [LoggerMessage(5, LogLevel.Information, "NVCF function '{Name}' is ACTIVE. Invoke it with:\n{Curl}")]
    public static partial void FunctionActive(ILogger logger, string name, string curl);

    [LoggerMessage(6, LogLevel.Error, "NVCF function '{Name}' failed to deploy: {Error}")]
    public static partial void FunctionFailed(ILogger logger, string name, string error);
}
