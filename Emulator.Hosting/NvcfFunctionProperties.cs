namespace Aspire.Hosting.ApplicationModel;

/// <summary>Names of the dashboard properties and states of an <see cref="NvcfFunctionResource"/>.</summary>
public static class NvcfFunctionProperties
{
    /// <summary>The resource type shown in the dashboard.</summary>
    public const string ResourceType = "NvcfFunction";

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

    /// <summary>The URL to POST invocations to.</summary>
    public const string InvokeUrl = "nvcf.invokeUrl";

    /// <summary>The state text while the function is being deployed.</summary>
    public const string DeployingState = "Deploying";
}
