namespace Aspire.Hosting.ApplicationModel;

/// <summary>Names of the dashboard properties, states and commands of an <see cref="NvcfFunctionResource"/> (a function or a version).</summary>
public static class NvcfFunctionProperties
{
    /// <summary>The resource type of a function shown in the dashboard.</summary>
    public const string ResourceType = "NvcfFunction";

    /// <summary>The resource type of a version (<c>AddVersion</c>) shown in the dashboard.</summary>
    public const string VersionResourceType = "NvcfFunctionVersion";

    /// <summary>The function ID, once created.</summary>
    public const string FunctionId = "nvcf.functionId";

    /// <summary>The version ID, once created.</summary>
    public const string VersionId = "nvcf.versionId";

    /// <summary>The function's NVCF status: <c>DEPLOYING</c>, <c>ACTIVE</c>, <c>ERROR</c>, ...</summary>
    public const string FunctionStatus = "nvcf.functionStatus";

    /// <summary>The deployment error reported by the emulator (<c>healthInfo[0].error</c>).</summary>
    public const string Error = "nvcf.error";

    /// <summary>The inference path and port.</summary>
    public const string InferenceUrl = "nvcf.inferenceUrl";

    /// <summary>The deployment specification in one line.</summary>
    public const string Deployment = "nvcf.deployment";

    /// <summary>What the deployment asked for and what its instances run on here (GPU mode, host GPUs, or the CPU).</summary>
    public const string GpuPlacement = "nvcf.gpuPlacement";

    /// <summary>The URL to POST invocations to.</summary>
    public const string InvokeUrl = "nvcf.invokeUrl";

    /// <summary>The number of running instances (<c>activeInstances</c>).</summary>
    public const string InstanceCount = "nvcf.instances";

    /// <summary>The prefix of one property per running instance (<c>nvcf.instance.1</c>, ...): its container name, status, GPUs and instance ID.</summary>
    public const string InstancePrefix = "nvcf.instance.";

    /// <summary>The Dockerfile the image is built from, for functions added from a Dockerfile.</summary>
    public const string Dockerfile = "nvcf.dockerfile";

    /// <summary>The state text while the function is being deployed.</summary>
    public const string DeployingState = "Deploying";

    /// <summary>The state text while the function's image is being built.</summary>
    public const string BuildingState = "Building";

    /// <summary>The state text while the deployment is being removed.</summary>
    public const string UndeployingState = "Undeploying";

    /// <summary>The state text once the function exists without a deployment.</summary>
    public const string UndeployedState = "Undeployed";

    /// <summary>The command that deploys the function (creating it first if needed), when it has no working deployment.</summary>
    public const string DeployCommand = "nvcf-deploy";

    /// <summary>The command that removes the function's deployment and its containers.</summary>
    public const string UndeployCommand = "nvcf-undeploy";

    /// <summary>The command that rebuilds the image (if built from a Dockerfile), removes the deployment and deploys again: new containers run the image as it is now.</summary>
    public const string RedeployCommand = "nvcf-redeploy";

    /// <summary>The command that replaces the running instances (new containers) with the same deployment specification and image, without a rebuild.</summary>
    public const string RestartCommand = "nvcf-restart-instances";

    /// <summary>The command that stops the oldest instance (<c>DELETE /v2/nvcf/instances/{instanceId}</c>); the next replaces it, as after a crash.</summary>
    public const string ReplaceInstanceCommand = "nvcf-replace-instance";
}
