using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nvcf.Emulator.Tests.Infrastructure;

/// <summary>The calls tests make, written as a user would write them against the NVCF API.</summary>
public static class NvcfClient
{
    public static async Task<JsonObject> CreateFunctionAsync(this HttpClient http, object body, Guid? functionId = null)
    {
        var path = functionId is null ? "/v2/nvcf/functions" : $"/v2/nvcf/functions/{functionId}/versions";
        using var response = await http.PostAsJsonAsync(path, body);
        await EnsureAsync(response, HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["function"]!.AsObject();
    }

    public static async Task<JsonObject> DeployAsync(
        this HttpClient http, JsonObject function, int minInstances = 1, int maxInstances = 1, int maxRequestConcurrency = 1,
        string gpu = "L40", string instanceType = "gl40_1.br20_2xlarge")
    {
        using var response = await http.PostAsJsonAsync(DeploymentPath(function), new
        {
            deploymentSpecifications = new[]
            {
                new { gpu, instanceType, minInstances, maxInstances, maxRequestConcurrency },
            },
        });
        await EnsureAsync(response, HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["deployment"]!.AsObject();
    }

    public static async Task<JsonObject> GetDeploymentAsync(this HttpClient http, JsonObject function)
    {
        using var response = await http.GetAsync(DeploymentPath(function));
        await EnsureAsync(response, HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["deployment"]!.AsObject();
    }

    /// <summary>Polls the deployment until its status is one of <paramref name="statuses"/>; returns it.</summary>
    public static async Task<JsonObject> WaitForStatusAsync(this HttpClient http, JsonObject function, TimeSpan timeout, params string[] statuses)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var deployment = await http.GetDeploymentAsync(function);
            if (statuses.Contains((string?)deployment["functionStatus"]))
            {
                return deployment;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Deployment still {deployment["functionStatus"]} after {timeout}: {deployment.ToJsonString()}");
            }

            await Task.Delay(50);
        }
    }

    public static async Task UndeployAsync(this HttpClient http, JsonObject function, bool graceful = false)
    {
        using var response = await http.DeleteAsync(DeploymentPath(function) + (graceful ? "?graceful=true" : string.Empty));
        await EnsureAsync(response, HttpStatusCode.OK);
    }

    public static Task<HttpResponseMessage> InvokeAsync(this HttpClient http, Guid functionId, string body, Guid? versionId = null, Action<HttpRequestMessage>? configure = null)
    {
        var path = versionId is null ? $"/v2/nvcf/pexec/functions/{functionId}" : $"/v2/nvcf/pexec/functions/{functionId}/versions/{versionId}";
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        configure?.Invoke(request);
        return http.SendAsync(request);
    }

    /// <summary><c>GET /v2/nvcf/functions</c> with <paramref name="query"/> (e.g. <c>?visibility=authorized</c>): every version listed.</summary>
    public static async Task<List<JsonObject>> ListFunctionsAsync(this HttpClient http, string query = "")
    {
        using var response = await http.GetAsync("/v2/nvcf/functions" + query);
        await EnsureAsync(response, HttpStatusCode.OK);
        return [.. (await response.Content.ReadFromJsonAsync<JsonObject>())!["functions"]!.AsArray().Select(f => f!.AsObject())];
    }

    public static Guid Id(this JsonObject function) => Guid.Parse((string)function["id"]!);

    public static Guid VersionId(this JsonObject function) => Guid.Parse((string)function["versionId"]!);

    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues)
        : throw new Xunit.Sdk.XunitException($"Response has no {name} header.");

    public static async Task<JsonObject> ProblemAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal((int)expected, (int)problem["status"]!);
        return problem;
    }

    private static string DeploymentPath(JsonObject function) =>
        $"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}";

    private static async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            throw new Xunit.Sdk.XunitException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
