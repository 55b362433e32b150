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

    [LoggerMessage(7, LogLevel.Information, "Undeploying NVCF function '{Name}'")]
    public static partial void Undeploying(ILogger logger, string name);

    [LoggerMessage(8, LogLevel.Information, "Building image {Image}: {CommandLine}")]
    public static partial void Building(ILogger logger, string image, string commandLine);

    [LoggerMessage(9, LogLevel.Information, "{Line}")]
    public static partial void BuildOutput(ILogger logger, string line);

    [LoggerMessage(10, LogLevel.Information, "Built image {Image} in {Seconds:0.0} s")]
    public static partial void Built(ILogger logger, string image, double seconds);

    [LoggerMessage(11, LogLevel.Information, "{Line}")]
    public static partial void ContainerOutput(ILogger logger, string line);

    [LoggerMessage(12, LogLevel.Error, "{Line}")]
    public static partial void ContainerError(ILogger logger, string line);

    [LoggerMessage(13, LogLevel.Debug, "Following the logs of container {Container}")]
    public static partial void FollowingContainer(ILogger logger, string container);

    [LoggerMessage(14, LogLevel.Warning, "Cannot follow the logs of container {Container}: {Error}")]
    public static partial void ContainerLogsFailed(ILogger logger, string container, string error);

    [LoggerMessage(15, LogLevel.Information, "Reusing NVCF function '{Name}' {FunctionId}, version {VersionId}, found on the emulator at {BaseAddress}")]
    public static partial void ReusingFunction(ILogger logger, string name, Guid functionId, Guid versionId, Uri baseAddress);

    [LoggerMessage(16, LogLevel.Information, "Adding a version for '{Name}' to NVCF function '{FunctionName}' {FunctionId} (image {Image}): none of its versions is this resource's as it is now")]
    public static partial void CreatingVersion(ILogger logger, string name, string functionName, Guid functionId, string image);

    [LoggerMessage(17, LogLevel.Information, "Restarting the instances of NVCF function '{Name}': undeploy, then deploy the same specification")]
    public static partial void RestartingInstances(ILogger logger, string name);

    [LoggerMessage(18, LogLevel.Warning, "NVCF function '{Name}' could not be undeployed as the app host stopped ({Message}); its containers are removed when an emulator next starts")]
    public static partial void ShutdownUndeployFailed(ILogger logger, string name, string message);

    [LoggerMessage(19, LogLevel.Information, "'{Name}' waits for its function '{Function}' to be created")]
    public static partial void WaitingForFunction(ILogger logger, string name, string function);

    [LoggerMessage(20, LogLevel.Information, "Undeploying version {VersionId}, an earlier version of '{Name}' that is still deployed")]
    public static partial void UndeployingStaleVersion(ILogger logger, string name, Guid versionId);

    [LoggerMessage(21, LogLevel.Information, "Undeploying {Count} NVCF function(s) of a durable-state emulator as the app host stops")]
    public static partial void UndeployingAtShutdown(ILogger logger, int count);

    [LoggerMessage(22, LogLevel.Information, "Created telemetry {TelemetryId} on the emulator for the dashboard's OTLP endpoint {Endpoint}")]
    public static partial void DashboardTelemetryCreated(ILogger logger, Guid telemetryId, string endpoint);

    [LoggerMessage(23, LogLevel.Warning, "WithTelemetry: the app host has no dashboard OTLP endpoint, so the function is created without telemetries")]
    public static partial void NoDashboardForTelemetry(ILogger logger);
}
