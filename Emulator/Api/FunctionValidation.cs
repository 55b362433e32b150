using System.Text.RegularExpressions;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Api;

/// <summary>
/// The control plane's validation of function and deployment requests (docs/nvcf-contract.md#create-request,
/// docs/nvcf-contract.md#rate-limits, docs/nvcf-contract.md#update-request, docs/nvcf-contract.md#deployments), with its
/// messages; the services of <c>Orchestration</c> call it before any change. Each method returns null
/// when the request is valid, else the <c>detail</c> of the 400 answer.
/// </summary>
public static partial class FunctionValidation
{
    private const string CreateObject = "createFunctionRequest";
    private const string DeploymentObject = "functionDeploymentRequest";
    private const string MinAboveMax = "Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'";

    /// <summary>A rate string: <c>count-unit</c>, comma-separated, each unit (S, M, H, D) at most once.</summary>
    /// <summary>The rate format as the cloud's message quotes it; matched with <c>\z</c> for its <c>$</c>, as Java's whole-string match does.</summary>
    private const string RateRegex = RateRegexBody + "$";
    private const string RateRegexBody = @"^(?!.*-([SMHD]).*-\1)[1-9]\d*-[SMHD](,\s*[1-9]\d*-[SMHD])*";

    public static string? Validate(CreateFunctionRequest r)
    {
        if (string.IsNullOrEmpty(r.Name))
        {
            return Field(CreateObject, "name", r.Name, "must not be blank");
        }

        if (r.Name.Length > 128 || !NamePattern().IsMatch(r.Name))
        {
            return Field(CreateObject, "name", r.Name, "must match \"^[a-z0-9A-Z][a-z0-9A-Z\\-_]*$\" and be 1 to 128 characters long");
        }

        if (string.IsNullOrWhiteSpace(r.InferenceUrl))
        {
            return Field(CreateObject, "inferenceUrl", r.InferenceUrl, "must not be null");
        }

        if (r.InferencePort is <= 0 or > 65535)
        {
            return Field(CreateObject, "inferencePort", r.InferencePort, "must be between 1 and 65535");
        }

        var artifacts = (r.ContainerImage is not null ? 1 : 0) + (r.Models is { Count: > 0 } ? 1 : 0) + (r.HelmChart is not null ? 1 : 0);
        if (artifacts == 0)
        {
            return "Invalid request: One of the following properties 'containerImage', 'models', or 'helmChart' must be specified in the payload";
        }

        if (artifacts > 1)
        {
            return "Invalid request: Only one of the following properties 'containerImage', 'models', or 'helmChart' may be specified in the payload";
        }

        if (r.ContainerImage is not null && !ImageReference.IsValid(r.ContainerImage))
        {
            return Field(
                CreateObject,
                "containerImage",
                r.ContainerImage,
                "must be an image reference such as nvcr.io/org/team/image:tag (a lower-case repository path, an optional registry, tag and digest)");
        }

        if ((r.HelmChart is null) != (r.HelmChartServiceName is null))
        {
            return "Invalid request: 'helmChart' and 'helmChartServiceName' must be specified together";
        }

        if (r.HelmChart is not null && (r.ContainerArgs is not null || r.ContainerEnvironment is { Count: > 0 }))
        {
            return "Invalid request: 'containerArgs' and 'containerEnvironment' are not allowed with 'helmChart'";
        }

        if (r.ContainerArgs is not null)
        {
            try
            {
                Runtime.CommandLine.Split(r.ContainerArgs);
            }
            catch (FormatException e)
            {
                return Field(CreateObject, "containerArgs", r.ContainerArgs, e.Message);
            }
        }

        if (r.Health is { } health)
        {
            if (string.IsNullOrWhiteSpace(health.Uri))
            {
                return Field(CreateObject, "health.uri", health.Uri, "must not be blank");
            }

            if (health.Port is null or <= 0 or > 65535)
            {
                return Field(CreateObject, "health.port", health.Port, "must be between 1 and 65535");
            }

            if (health.Timeout is null || health.Timeout <= TimeSpan.Zero)
            {
                return Field(CreateObject, "health.timeout", health.Timeout, "must be a positive ISO-8601 duration");
            }

            if (health.ExpectedStatusCode is null or < 100 or > 599)
            {
                return Field(CreateObject, "health.expectedStatusCode", health.ExpectedStatusCode, "must be an HTTP status code");
            }

            if (health.Protocol is null)
            {
                return Field(CreateObject, "health.protocol", null, "must not be null");
            }
        }

        if (r.ContainerEnvironment?.FirstOrDefault(e => string.IsNullOrEmpty(e.Key) || e.Value is null) is { } badEntry)
        {
            return Field(CreateObject, "containerEnvironment", badEntry.Key, "each entry needs a 'key' and a 'value'");
        }

        if (r.ContainerEnvironment?.FirstOrDefault(e => !EnvironmentNamePattern().IsMatch(e.Key!)) is { } badKey)
        {
            return Field(CreateObject, "containerEnvironment.key", badKey.Key, "must be an environment variable name matching \"^[A-Za-z_][A-Za-z0-9_]*$\"");
        }

        if (r.ContainerEnvironment?.FirstOrDefault(e => e.Value!.Contains('\0', StringComparison.Ordinal)) is { } badValue)
        {
            return Field(CreateObject, "containerEnvironment.value", badValue.Key, "must not contain a NUL character");
        }

        if (r.Resources?.FirstOrDefault(a => a.Name is null || a.Version is null || a.Uri is null) is { } badArtifact)
        {
            return Field(CreateObject, "resources", badArtifact.Name, "each resource needs 'name', 'version' and 'uri'");
        }

        if (ValidateModels(r) is { } modelError)
        {
            return modelError;
        }

        if (ValidateTags(CreateObject, r.Tags) is { } tagError)
        {
            return tagError;
        }

        if (r.Description is { Length: > 256 })
        {
            return Field(CreateObject, "description", r.Description, "size must be between 0 and 256");
        }

        if (ValidateSecrets(CreateObject, r.Secrets) is { } secretError)
        {
            return secretError;
        }

        if (r.Telemetries is { LogsTelemetryId: null, MetricsTelemetryId: null, TracesTelemetryId: null })
        {
            return "Invalid request: at least one of 'logsTelemetryId', 'metricsTelemetryId' or 'tracesTelemetryId' must be specified";
        }

        return ValidateRateLimit(CreateObject, r.RateLimit);
    }

    public static string? Validate(UpdateFunctionRequest r)
    {
        if (r.Tags is null && r.RateLimit is null && r.ModelUpdates is null && r.LlmInvocationConfig is null)
        {
            return "Invalid request: at least one of 'tags', 'rateLimit', 'modelUpdates', or 'llmInvocationConfig' must be specified";
        }

        if (r.ModelUpdates?.FirstOrDefault(m => string.IsNullOrEmpty(m.ModelName)) is not null)
        {
            return Field("updateFunctionRequest", "modelUpdates.modelName", null, "must not be blank");
        }

        return ValidateTags("updateFunctionRequest", r.Tags) ?? ValidateRateLimit("updateFunctionRequest", r.RateLimit);
    }

    /// <summary>The specifications of <c>POST</c> and <c>PUT /v2/nvcf/deployments/functions/{id}/versions/{vid}</c>.</summary>
    public static string? ValidateDeploymentSpecifications(List<GpuSpecificationDto>? specifications)
    {
        if (specifications is not { Count: > 0 })
        {
            return Field(DeploymentObject, "deploymentSpecifications", null, "must not be empty");
        }

        foreach (var s in specifications)
        {
            if (string.IsNullOrWhiteSpace(s.Gpu))
            {
                return Field(DeploymentObject, "deploymentSpecifications.gpu", s.Gpu, "must not be blank");
            }

            if (string.IsNullOrWhiteSpace(s.InstanceType))
            {
                return Field(DeploymentObject, "deploymentSpecifications.instanceType", s.InstanceType, "must not be blank");
            }

            if (s.MaxInstances is null or < 1)
            {
                return Field(DeploymentObject, "deploymentSpecifications.maxInstances", s.MaxInstances, "must be greater than or equal to 1");
            }

            if (s.MinInstances is null or < 0)
            {
                return Field(DeploymentObject, "deploymentSpecifications.minInstances", s.MinInstances, "must be greater than or equal to 0");
            }

            if (s.MinInstances > s.MaxInstances)
            {
                return MinAboveMax;
            }

            if (s.MaxRequestConcurrency is < 1 or > GpuSpecification.MaxRequestConcurrencyLimit)
            {
                return Field(DeploymentObject, "deploymentSpecifications.maxRequestConcurrency", s.MaxRequestConcurrency, "must be between 1 and 16384");
            }
        }

        return null;
    }

    /// <summary>The instance counts of one GPU specification as <c>PATCH …/gpu-specifications/{id}</c> leaves them.</summary>
    public static string? ValidateInstanceCounts(int minInstances, int maxInstances) =>
        minInstances < 0 || maxInstances < 1 ? "Invalid request: 'minInstances' must be at least 0 and 'maxInstances' at least 1"
        : minInstances > maxInstances ? MinAboveMax
        : null;

    /// <summary>Spring's bean-validation message shape.</summary>
    public static string Field(string objectName, string field, object? rejected, string message) =>
        $"Validation failed: [object={objectName}, field={field}, rejected={rejected ?? "null"}, message={message}]";

    private static string? ValidateModels(CreateFunctionRequest r)
    {
        if (r.Models is not { Count: > 0 } models)
        {
            return r.FunctionType == FunctionType.Llm ? "Invalid request: LLM functions need 'models' with 'llmConfig'" : null;
        }

        foreach (var model in models)
        {
            if (string.IsNullOrEmpty(model.Name))
            {
                return Field(CreateObject, "models.name", null, "must not be blank");
            }

            if (r.FunctionType != FunctionType.Llm && (model.Version is null || model.Uri is null))
            {
                return $"Invalid request: model '{model.Name}' needs 'version' and 'uri'";
            }

            if (r.FunctionType == FunctionType.Llm && model.LlmConfig is null)
            {
                return $"Invalid request: model '{model.Name}' of an LLM function needs 'llmConfig'";
            }
        }

        return models.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1) is { } duplicate
            ? $"Invalid request: model names must be unique, '{duplicate.Key}' appears more than once"
            : null;
    }

    internal static string? ValidateTags(string objectName, List<string>? tags)
    {
        if (tags is null)
        {
            return null;
        }

        if (tags.Count > 64)
        {
            return Field(objectName, "tags", tags.Count, "at most 64 tags are allowed");
        }

        return tags.FirstOrDefault(t => t is null || t.Length is 0 or > 128 || !TagPattern().IsMatch(t)) is { } bad
            ? Field(objectName, "tags", bad, "each tag must match \"[a-zA-Z0-9\\-_:=]+\" and be at most 128 characters long")
            : null;
    }

    /// <summary>The secrets of <c>PUT /v2/nvcf/secrets/functions/…</c>: present, each valid, no name twice.</summary>
    public static string? ValidateSecretsUpdate(Guid functionId, Guid versionId, List<SecretDto>? secrets)
    {
        if (secrets is null || secrets.Count == 0)
        {
            return $"Function id '{functionId}', version '{versionId}': Missing secrets in the payload";
        }

        if (secrets.GroupBy(s => s.Name).Any(g => g.Count() > 1))
        {
            return $"Function id '{functionId}', version '{versionId}': Duplicate secrets keys in the payload";
        }

        return ValidateSecrets("updateFunctionSecretsRequest", secrets);
    }

    internal static string? ValidateSecrets(string objectName, List<SecretDto>? secrets, string field = "secrets")
    {
        if (secrets is null)
        {
            return null;
        }

        foreach (var secret in secrets)
        {
            if (secret.Name is null || secret.Name.Length > 48 || !SecretNamePattern().IsMatch(secret.Name))
            {
                return Field(objectName, field + ".name", secret.Name, "must match \"^[a-z0-9A-Z][a-z0-9A-Z_.\\-]*$\" and be 1 to 48 characters long");
            }

            var value = secret.Value switch
            {
                System.Text.Json.Nodes.JsonValue v when v.TryGetValue<string>(out var s) => s,
                System.Text.Json.Nodes.JsonObject o => o.ToJsonString(),
                _ => null,
            };
            if (value is null || value.Length is 0 or > 32768)
            {
                return Field(objectName, field + ".value", secret.Name, "must be a string or a JSON object of 1 to 32768 characters");
            }
        }

        return secrets.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1) is { } duplicate
            ? $"Invalid request: duplicate secret name '{duplicate.Key}'"
            : null;
    }

    /// <summary>
    /// <c>RateLimitDto</c>'s bean validation, with the control plane's fields and messages (the first failure only;
    /// Spring lists them all).
    /// </summary>
    private static string? ValidateRateLimit(string objectName, RateLimitDto? rateLimit)
    {
        if (rateLimit is null)
        {
            return null;
        }

        if (rateLimit.RateLimit is { } rate && !RatePattern().IsMatch(rate))
        {
            return Field(objectName, "rateLimit.rateLimit", rate, "Invalid rate: Must conform to regex " + RateRegex);
        }

        if (rateLimit.PerUserRate is { } perUser && !RatePattern().IsMatch(perUser))
        {
            return Field(objectName, "rateLimit.perUserRate", perUser, "Invalid per-user rate: Must conform to regex " + RateRegex);
        }

        if (rateLimit.PerNcaIdRate?.FirstOrDefault(r => r.Value is null || !RatePattern().IsMatch(r.Value)) is { Key: not null } perNca)
        {
            return Field(objectName, $"rateLimit.perNcaIdRate[{perNca.Key}]", perNca.Value, "Invalid rate limit: Must conform to regex " + RateRegex);
        }

        if (rateLimit.ExemptedNcaIds is { Count: > 32 } exempted)
        {
            return Field(objectName, "rateLimit.exemptedNcaIds", $"[{string.Join(", ", exempted)}]", "Maximum number of exempted nca id of 32 is exceeded");
        }

        if (rateLimit.PerNcaIdRate is { Count: > 32 } perNcaIds)
        {
            return Field(objectName, "rateLimit.perNcaIdRate", JavaMap(perNcaIds), "Maximum number of per nca id config of 32 is exceeded");
        }

        var noRate = rateLimit.RateLimit is null && rateLimit.PerNcaIdRate is null && rateLimit.PerUserRate is null;
        var exemptionsWithoutRate = rateLimit.ExemptedNcaIds is { Count: > 0 } && rateLimit.RateLimit is null;
        var exemptedWithOwnRate = rateLimit.PerNcaIdRate?.Keys.Any(id => rateLimit.ExemptedNcaIds?.Contains(id) == true) == true;
        return noRate || exemptionsWithoutRate || exemptedWithOwnRate
            ? Field(
                objectName,
                "rateLimit",
                $"RateLimitDto[rateLimit={rateLimit.RateLimit ?? "null"}, exemptedNcaIds={(rateLimit.ExemptedNcaIds is { } e ? $"[{string.Join(", ", e)}]" : "null")}, perNcaIdRate={(rateLimit.PerNcaIdRate is { } m ? JavaMap(m) : "null")}, syncCheck={(rateLimit.SyncCheck is { } sync ? (sync ? "true" : "false") : "null")}, perUserRate={rateLimit.PerUserRate ?? "null"}]",
                "Either global rateLimit, perNcaIdRate, or perUserRate must be non-null, per-ncaid rates ncaids cannot be in exemptedNcaIds, and exemptedNcaIds can only exist when global rateLimit is provided")
            : null;

        static string JavaMap(Dictionary<string, string> map) => "{" + string.Join(", ", map.Select(p => $"{p.Key}={p.Value}")) + "}";
    }

    [GeneratedRegex(@"^[a-z0-9A-Z][a-z0-9A-Z\-_]*\z")]
    private static partial Regex NamePattern();

    /// <summary>POSIX's portable environment variable names; <c>\z</c>, as <c>$</c> would let a final newline through.</summary>
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z")]
    private static partial Regex EnvironmentNamePattern();

    [GeneratedRegex(@"^[a-zA-Z0-9\-_:=]+\z")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9A-Z][a-z0-9A-Z_.\-]*\z")]
    internal static partial Regex SecretNamePattern();

    [GeneratedRegex(RateRegexBody + @"\z")]
    private static partial Regex RatePattern();
}
