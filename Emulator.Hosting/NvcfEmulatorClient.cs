using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting;

/// <summary>The few calls of the emulator's NVCF API that the integration makes, with a bearer token.</summary>
internal sealed class NvcfEmulatorClient : IDisposable
{
    /// <summary>The name of the HttpClient used for the emulator's API (registered without request logging).</summary>
    public const string HttpClientName = "nvcf-emulator-api";

    /// <summary>
    /// The bearer token sent unless the emulator has a key from <c>WithApiKey</c>; the emulator accepts any token unless
    /// it is configured with API keys.
    /// </summary>
    public const string BearerToken = "local";

    /// <summary>How curl lines on the console write a key given as a secret parameter.</summary>
    public const string SecretKeyPlaceholder = "$NVCF_API_KEY";

    /// <summary>
    /// The start of the tag that names the resource a version was created for (<c>aspire-resource=hello-v2</c>): after a
    /// restart with durable state each resource finds its own version by it, not a sibling's.
    /// </summary>
    public const string ResourceTagPrefix = "aspire-resource=";

    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;

    public NvcfEmulatorClient(HttpClient http, Uri baseAddress, string bearerToken = BearerToken, string? shownToken = null)
    {
        _http = http;
        _http.BaseAddress = baseAddress;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        ShownToken = shownToken ?? bearerToken;
    }

    /// <summary>The emulator's base address.</summary>
    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>The bearer token as curl lines on the console show it (a secret key as <see cref="SecretKeyPlaceholder"/>).</summary>
    public string ShownToken { get; }

    /// <summary>
    /// A client for the emulator's <c>http</c> endpoint, which must be allocated (the emulator is running), sending the
    /// key of <c>WithApiKey</c> (else <see cref="BearerToken"/>).
    /// </summary>
    public static async Task<NvcfEmulatorClient> CreateAsync(IHttpClientFactory httpClientFactory, NvcfEmulatorResource emulator, CancellationToken cancellationToken)
    {
        var (token, shown) = emulator.TryGetLastAnnotation<NvcfApiKeyAnnotation>(out var key)
            && await key.Key.GetValueAsync(cancellationToken) is { Length: > 0 } value
            ? (value, key.IsSecret ? SecretKeyPlaceholder : value)
            : (BearerToken, BearerToken);
        var http = httpClientFactory.CreateClient(HttpClientName);
        http.Timeout = s_requestTimeout;
        return new NvcfEmulatorClient(http, new Uri(emulator.HttpEndpoint.Url), token, shown);
    }

    /// <summary>The tag that names the resource a version was created for.</summary>
    public static string ResourceTag(NvcfFunctionResource function) => ResourceTagPrefix + function.Name;

    /// <summary>Whether the version carries a resource tag at all (it was created by this integration).</summary>
    public static bool HasResourceTag(NvcfFunctionDto version) =>
        version.Tags?.Any(t => t.StartsWith(ResourceTagPrefix, StringComparison.Ordinal)) == true;

    /// <summary>Whether the version was created for <paramref name="function"/>.</summary>
    public static bool IsVersionOf(NvcfFunctionDto version, NvcfFunctionResource function) =>
        version.Tags?.Contains(ResourceTag(function), StringComparer.Ordinal) == true;

    public void Dispose() => _http.Dispose();

    /// <summary><c>POST /v2/nvcf/functions</c>: creates the function and its first version.</summary>
    public async Task<NvcfFunctionDto> CreateFunctionAsync(NvcfFunctionResource function, Guid? telemetryId, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("/v2/nvcf/functions", CreateRequest(function, telemetryId), NvcfApiJsonContext.Default.NvcfCreateFunctionRequest, cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfFunctionResponse, cancellationToken);
        return body.Function;
    }

    /// <summary><c>POST /v2/nvcf/functions/{id}/versions</c>: adds a version to an existing function.</summary>
    public async Task<NvcfFunctionDto> CreateVersionAsync(Guid functionId, NvcfFunctionResource function, Guid? telemetryId, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync($"/v2/nvcf/functions/{functionId}/versions", CreateRequest(function, telemetryId), NvcfApiJsonContext.Default.NvcfCreateFunctionRequest, cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfFunctionResponse, cancellationToken);
        return body.Function;
    }

    /// <summary><c>GET /v2/nvcf/functions</c>: every version of every function of the account.</summary>
    public async Task<IReadOnlyList<NvcfFunctionDto>> ListFunctionsAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("/v2/nvcf/functions", cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfFunctionListResponse, cancellationToken);
        return body.Functions ?? [];
    }

    /// <summary><c>GET /v2/nvcf/functions/{id}/versions</c>: every version of the function.</summary>
    public async Task<IReadOnlyList<NvcfFunctionDto>> ListVersionsAsync(Guid functionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"/v2/nvcf/functions/{functionId}/versions", cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfFunctionListResponse, cancellationToken);
        return body.Functions ?? [];
    }

    /// <summary><c>POST /v2/nvcf/deployments/functions/{id}/versions/{versionId}</c>: deploys the version.</summary>
    public async Task<NvcfDeploymentDto> DeployAsync(Guid functionId, Guid versionId, NvcfDeploymentSpecification specification, CancellationToken cancellationToken)
    {
        var request = new NvcfDeploymentRequest(
        [
            new NvcfDeploymentSpecificationDto(
                specification.Gpu,
                specification.InstanceType,
                specification.MinInstances,
                specification.MaxInstances,
                specification.MaxRequestConcurrency),
        ]);
        using var response = await _http.PostAsJsonAsync(DeploymentPath(functionId, versionId), request, NvcfApiJsonContext.Default.NvcfDeploymentRequest, cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfDeploymentResponse, cancellationToken);
        return body.Deployment;
    }

    /// <summary><c>GET /v2/nvcf/deployments/functions/{id}/versions/{versionId}</c>.</summary>
    public async Task<NvcfDeploymentDto> GetDeploymentAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(DeploymentPath(functionId, versionId), cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfDeploymentResponse, cancellationToken);
        return body.Deployment;
    }

    /// <summary><c>GET /v2/nvcf/deployments/functions/{id}/versions/{versionId}</c>; null when the version has no deployment (404).</summary>
    public async Task<NvcfDeploymentDto?> FindDeploymentAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(DeploymentPath(functionId, versionId), cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfDeploymentResponse, cancellationToken);
        return body.Deployment;
    }

    /// <summary><c>DELETE /v2/nvcf/deployments/functions/{id}/versions/{versionId}</c>; false when there was no deployment (404).</summary>
    public async Task<bool> UndeployAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync(DeploymentPath(functionId, versionId), cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }

        await ReadAsync(response, NvcfApiJsonContext.Default.NvcfFunctionResponse, cancellationToken);
        return true;
    }

    /// <summary><c>GET /v2/nvcf/functions/{id}/versions/{versionId}</c>: the version's status and running instances.</summary>
    public async Task<NvcfFunctionDto> GetFunctionVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"/v2/nvcf/functions/{functionId}/versions/{versionId}", cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfFunctionResponse, cancellationToken);
        return body.Function;
    }

    /// <summary><c>DELETE /v2/nvcf/instances/{instanceId}</c>: stops and removes one instance; its version replaces it.</summary>
    public async Task DeleteInstanceAsync(Guid instanceId, CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync($"/v2/nvcf/instances/{instanceId}", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            await ReadAsync(response, NvcfApiJsonContext.Default.NvcfProblem, cancellationToken); // throws with the problem's detail
        }
    }

    /// <summary><c>GET /v2/nvcf/telemetries</c>: the account's telemetry endpoints.</summary>
    public async Task<IReadOnlyList<NvcfTelemetryDto>> ListTelemetriesAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("/v2/nvcf/telemetries", cancellationToken);
        var body = await ReadAsync(response, NvcfApiJsonContext.Default.NvcfTelemetryListResponse, cancellationToken);
        return body.Telemetries ?? [];
    }

    /// <summary><c>POST /v2/nvcf/telemetries</c>.</summary>
    public async Task<NvcfTelemetryDto> CreateTelemetryAsync(NvcfTelemetryRequest request, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("/v2/nvcf/telemetries", request, NvcfApiJsonContext.Default.NvcfTelemetryRequest, cancellationToken);
        return (await ReadAsync(response, NvcfApiJsonContext.Default.NvcfTelemetryResponse, cancellationToken)).Telemetry;
    }

    /// <summary><c>PUT /v2/nvcf/secrets/telemetries/{id}</c>: replaces the telemetry's secret.</summary>
    public async Task UpdateTelemetrySecretAsync(Guid telemetryId, NvcfTelemetrySecret secret, CancellationToken cancellationToken)
    {
        using var response = await _http.PutAsJsonAsync(
            $"/v2/nvcf/secrets/telemetries/{telemetryId}", new NvcfTelemetrySecretRequest(secret), NvcfApiJsonContext.Default.NvcfTelemetrySecretRequest, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            await ReadAsync(response, NvcfApiJsonContext.Default.NvcfProblem, cancellationToken); // throws with the problem's detail
        }
    }

    /// <summary>The function's (or version's) resolved definition, tagged with its resource name.</summary>
    private static NvcfCreateFunctionRequest CreateRequest(NvcfFunctionResource function, Guid? telemetryId)
    {
        var environment = function.ContainerEnvironment;
        return new(
            function.FunctionName,
            function.InferenceUrl,
            function.InferencePort,
            function.Image,
            function.HealthUri,
            environment.Count > 0 ? [.. environment.Select(e => new NvcfEnvironmentEntry(e.Key, e.Value))] : null,
            [ResourceTag(function)],
            telemetryId is { } id ? new NvcfTelemetries(id, id, id) : null);
    }

    private static string DeploymentPath(Guid functionId, Guid versionId) =>
        $"/v2/nvcf/deployments/functions/{functionId}/versions/{versionId}";

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var detail = text;
            try
            {
                var problem = JsonSerializer.Deserialize(text, NvcfApiJsonContext.Default.NvcfProblem);
                detail = problem?.Detail ?? problem?.Title ?? text;
            }
            catch (JsonException)
            {
            }

            throw new HttpRequestException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode}: {detail}",
                inner: null,
                response.StatusCode);
        }

        return await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken)
            ?? throw new HttpRequestException($"{response.RequestMessage?.RequestUri?.AbsolutePath} answered an empty body");
    }
}

internal sealed record NvcfCreateFunctionRequest(
    string Name,
    string InferenceUrl,
    int InferencePort,
    string ContainerImage,
    string? HealthUri,
    IReadOnlyList<NvcfEnvironmentEntry>? ContainerEnvironment,
    IReadOnlyList<string>? Tags,
    NvcfTelemetries? Telemetries);

internal sealed record NvcfTelemetries(Guid? LogsTelemetryId, Guid? MetricsTelemetryId, Guid? TracesTelemetryId);

internal sealed record NvcfTelemetryRequest(string Endpoint, string Protocol, string Provider, IReadOnlyList<string> Types, NvcfTelemetrySecret Secret);

/// <param name="Value">A string (a bearer token) or a JSON object (headers).</param>
internal sealed record NvcfTelemetrySecret(string Name, System.Text.Json.Nodes.JsonNode Value);

internal sealed record NvcfTelemetrySecretRequest(NvcfTelemetrySecret Secret);

internal sealed record NvcfTelemetryDto(Guid TelemetryId, string Name, string Endpoint);

internal sealed record NvcfTelemetryResponse(NvcfTelemetryDto Telemetry);

internal sealed record NvcfTelemetryListResponse(IReadOnlyList<NvcfTelemetryDto>? Telemetries);

internal sealed record NvcfEnvironmentEntry(string Key, string Value);

internal sealed record NvcfFunctionResponse(NvcfFunctionDto Function);

internal sealed record NvcfFunctionListResponse(IReadOnlyList<NvcfFunctionDto>? Functions);

internal sealed record NvcfFunctionDto(
    Guid Id,
    Guid VersionId,
    string Name,
    string Status,
    IReadOnlyList<NvcfInstanceDto>? ActiveInstances,
    string? ContainerImage = null,
    string? InferenceUrl = null,
    int? InferencePort = null,
    string? HealthUri = null,
    IReadOnlyList<NvcfEnvironmentEntry>? ContainerEnvironment = null,
    DateTime CreatedAt = default,
    IReadOnlyList<string>? Tags = null,
    NvcfTelemetries? Telemetries = null);

/// <param name="Gpus">What the instance runs on, e.g. "GPU 0 (H100), raw device mode (…)" or "CPU (…)".</param>
internal sealed record NvcfInstanceDto(Guid InstanceId, string InstanceStatus, string Location, string? Gpus = null, DateTime InstanceCreatedAt = default);

internal sealed record NvcfDeploymentRequest(IReadOnlyList<NvcfDeploymentSpecificationDto> DeploymentSpecifications);

internal sealed record NvcfDeploymentSpecificationDto(string Gpu, string InstanceType, int MinInstances, int MaxInstances, int MaxRequestConcurrency);

internal sealed record NvcfDeploymentResponse(NvcfDeploymentDto Deployment);

internal sealed record NvcfDeploymentDto(
    string FunctionStatus,
    IReadOnlyList<NvcfDeploymentHealthDto>? HealthInfo,
    IReadOnlyList<NvcfPlacementDto>? DeploymentSpecifications = null);

/// <param name="Placement">What was asked and what the instances get on this host (the emulator's <c>placement</c>).</param>
internal sealed record NvcfPlacementDto(string? Placement);

internal sealed record NvcfDeploymentHealthDto(string? Error);

internal sealed record NvcfProblem(string? Title, string? Detail);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NvcfCreateFunctionRequest))]
[JsonSerializable(typeof(NvcfFunctionResponse))]
[JsonSerializable(typeof(NvcfFunctionListResponse))]
[JsonSerializable(typeof(NvcfDeploymentRequest))]
[JsonSerializable(typeof(NvcfDeploymentResponse))]
[JsonSerializable(typeof(NvcfProblem))]
[JsonSerializable(typeof(NvcfTelemetryRequest))]
[JsonSerializable(typeof(NvcfTelemetryResponse))]
[JsonSerializable(typeof(NvcfTelemetryListResponse))]
[JsonSerializable(typeof(NvcfTelemetrySecretRequest))]
internal sealed partial class NvcfApiJsonContext : JsonSerializerContext;
