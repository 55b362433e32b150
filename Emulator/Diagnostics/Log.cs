using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Diagnostics;

/// <summary>Every log message of the emulator, source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Docker engine ready; removed {Reaped} container(s) left by emulator processes that are gone")]
    public static partial void RuntimeReady(this ILogger logger, int reaped);

    [LoggerMessage(2, LogLevel.Error, "The Docker engine could not be reached ({Message}); deployments will fail until it can be. Start Docker, or point DOCKER_HOST (or Emulator__Docker__Endpoint) at a running engine")]
    public static partial void RuntimeUnreachable(this ILogger logger, string message);

    [LoggerMessage(3, LogLevel.Information, "Image {Image} is not present locally; pulling it")]
    public static partial void ImagePulling(this ILogger logger, string image);

    [LoggerMessage(80, LogLevel.Information, "Pulling {Image} with the credentials of {Source}")]
    public static partial void ImagePullingWithCredentials(this ILogger logger, string image, string source);

    [LoggerMessage(81, LogLevel.Warning, "Docker client configuration {Path} was not used for pull credentials: {Reason}")]
    public static partial void DockerConfigUnreadable(this ILogger logger, string path, string reason);

    [LoggerMessage(82, LogLevel.Warning, "Credential helper {Helper} gave no credentials: {Reason}")]
    public static partial void CredentialHelperFailed(this ILogger logger, string helper, string reason);

    [LoggerMessage(4, LogLevel.Information, "Started container {Container} from {Image} ({ImageId}) on {Gpus}")]
    public static partial void ContainerStarted(this ILogger logger, string container, string image, string imageId, string? gpus);

    [LoggerMessage(40, LogLevel.Information, "{Summary}")]
    public static partial void GpuPassthroughSelected(this ILogger logger, string summary);

    [LoggerMessage(41, LogLevel.Warning, "{Warning}")]
    public static partial void GpuWarning(this ILogger logger, string warning);

    [LoggerMessage(42, LogLevel.Error, "Instances will not start: {Refusal}")]
    public static partial void GpuRefused(this ILogger logger, string refusal);

    [LoggerMessage(43, LogLevel.Warning, "Container {Container} shares its GPU with another instance: {Gpus}. Instances compete for its memory and time")]
    public static partial void GpuShared(this ILogger logger, string container, string gpus);

    [LoggerMessage(5, LogLevel.Information, "Removed stale container {Container} of emulator process {Owner}")]
    public static partial void ContainerReaped(this ILogger logger, string container, string owner);

    [LoggerMessage(10, LogLevel.Information, "Starting instance {InstanceId} of {FunctionName} version {VersionId}")]
    public static partial void InstanceStarting(this ILogger logger, string functionName, Guid versionId, Guid instanceId);

    [LoggerMessage(11, LogLevel.Information, "Instance {Container} passed its health check after {Elapsed}")]
    public static partial void InstanceReady(this ILogger logger, string container, TimeSpan elapsed);

    [LoggerMessage(12, LogLevel.Error, "Instance of {FunctionName} version {VersionId} failed to start: {Cause}")]
    public static partial void InstanceFailed(this ILogger logger, string functionName, Guid versionId, string cause);

    [LoggerMessage(13, LogLevel.Warning, "Instance of {FunctionName} version {VersionId} is out of service and will be replaced: {Cause}")]
    public static partial void InstanceLost(this ILogger logger, string functionName, Guid versionId, string cause);

    [LoggerMessage(14, LogLevel.Information, "Stopping idle instance {Container} of {FunctionName}")]
    public static partial void InstanceScaledDown(this ILogger logger, string functionName, string container);

    [LoggerMessage(15, LogLevel.Information, "Removed instance {Container}")]
    public static partial void InstanceRemoved(this ILogger logger, string container);

    [LoggerMessage(16, LogLevel.Information, "{FunctionName} version {VersionId}: {From} -> {To}")]
    public static partial void VersionStatusChanged(this ILogger logger, string functionName, Guid versionId, FunctionStatus from, FunctionStatus to);

    [LoggerMessage(17, LogLevel.Error, "Supervisor of {FunctionName} version {VersionId} stopped unexpectedly")]
    public static partial void SupervisorFailed(this ILogger logger, Exception exception, string functionName, Guid versionId);

    [LoggerMessage(18, LogLevel.Warning, "Instance {Container} failed its health check ({Failures} of {Threshold} in a row before it is replaced): {Detail}")]
    public static partial void InstanceProbeFailed(this ILogger logger, string container, int failures, int threshold, string detail);

    [LoggerMessage(19, LogLevel.Warning, "Could not remove instance {Container}: {Message}")]
    public static partial void InstanceNotRemoved(this ILogger logger, string container, string message);

    [LoggerMessage(6, LogLevel.Information, "gRPC invocations are served at {Address}")]
    public static partial void GrpcListening(this ILogger logger, Uri address);

    [LoggerMessage(7, LogLevel.Error, "gRPC invocations are off: could not listen on {Url} ({Message}). Set Emulator:GrpcUrl to a free address")]
    public static partial void GrpcUnavailable(this ILogger logger, string url, string message);

    [LoggerMessage(20, LogLevel.Warning, "Invocation {RequestId} could not reach instance {InstanceId}: {Message}")]
    public static partial void InstanceUnreachable(this ILogger logger, Guid requestId, Guid instanceId, string message);

    [LoggerMessage(21, LogLevel.Debug, "Invocation of {FunctionName} version {VersionId} refused with 429: rate limit {Rate} exceeded; retry after {RetryAfterSeconds} s")]
    public static partial void RateLimited(this ILogger logger, string functionName, Guid versionId, string rate, int retryAfterSeconds);

    [LoggerMessage(30, LogLevel.Information, "State is kept in Redis (store {StateId}): stopping leaves instances running for the next emulator on this store to adopt")]
    public static partial void DurableState(this ILogger logger, string stateId);

    [LoggerMessage(31, LogLevel.Information, "Adopting container {Container} of {FunctionName} version {VersionId}")]
    public static partial void InstanceAdopting(this ILogger logger, string container, string functionName, Guid versionId);

    [LoggerMessage(32, LogLevel.Information, "Removed container {Container}: its deployment is no longer in the store")]
    public static partial void ContainerOfGoneDeploymentRemoved(this ILogger logger, string container);

    [LoggerMessage(33, LogLevel.Information, "Left {Count} instance(s) running for the next emulator on this store")]
    public static partial void InstancesLeftRunning(this ILogger logger, int count);

    [LoggerMessage(50, LogLevel.Warning, "Removed {Count} container(s) of undeployed version {VersionId} that no instance tracked")]
    public static partial void UntrackedContainersRemoved(this ILogger logger, int count, Guid versionId);

    [LoggerMessage(51, LogLevel.Information, "Created network {Network} for instances (no traffic between containers)")]
    public static partial void NetworkCreated(this ILogger logger, string network);

    [LoggerMessage(52, LogLevel.Information, "Removed network {Network}: its last instance is gone")]
    public static partial void NetworkRemoved(this ILogger logger, string network);

    [LoggerMessage(53, LogLevel.Warning, "The emulator runs in a container and its work directory {WorkDirectory} is not mounted from the host: the engine mounts the instances' /var/inf from that path on its own host, so progress, large results and assets would not reach the emulator. Mount it at the same path: -v {WorkDirectory}:{WorkDirectory}")]
    public static partial void WorkDirectoryNotShared(this ILogger logger, string workDirectory);

    [LoggerMessage(54, LogLevel.Warning, "Large output {Name} of request {RequestId} left out of its result: {Reason}")]
    public static partial void LargeOutputSkipped(this ILogger logger, Guid requestId, string name, string reason);

    [LoggerMessage(60, LogLevel.Error, "The state store (Redis at {Endpoint}) is unavailable: {Cause}. Management calls answer 503 until it is back")]
    public static partial void StoreDown(this ILogger logger, string endpoint, string cause);

    [LoggerMessage(61, LogLevel.Information, "The state store (Redis at {Endpoint}) answers again")]
    public static partial void StoreBack(this ILogger logger, string endpoint);

    [LoggerMessage(62, LogLevel.Error, "Deployments are not restored yet: {Cause}. Retrying until the state store answers")]
    public static partial void RestoreWaitingForStore(this ILogger logger, string cause);

    [LoggerMessage(63, LogLevel.Information, "Deleting instance {Container} of {FunctionName} version {VersionId} on request; it is replaced as after a crash")]
    public static partial void InstanceDeleted(this ILogger logger, string functionName, Guid versionId, string container);

    [LoggerMessage(70, LogLevel.Information, "OTLP relay for telemetry {Telemetry} ({Protocol}) listens on {Address} and forwards to {Endpoint}")]
    public static partial void TelemetryRelayListening(this ILogger logger, string telemetry, TelemetryProtocol protocol, Uri address, string endpoint);

    [LoggerMessage(71, LogLevel.Warning, "No address for the OTLP relay that containers can reach ({Reason}): function containers get their telemetry endpoints unchanged. Set Emulator:TelemetryRelayAddress")]
    public static partial void TelemetryRelayUnavailable(this ILogger logger, string reason);

    [LoggerMessage(72, LogLevel.Warning, "Telemetry {Telemetry} has provider {Provider}: the emulator forwards OTLP only to OTEL_COLLECTOR endpoints, so what functions export to it is accepted and dropped")]
    public static partial void TelemetryDropped(this ILogger logger, string telemetry, TelemetryProvider provider);

    [LoggerMessage(73, LogLevel.Warning, "OTLP export to telemetry {Telemetry} at {Endpoint} failed: {Message}")]
    public static partial void TelemetryForwardFailed(this ILogger logger, string telemetry, string endpoint, string message);
}
