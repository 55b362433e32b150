using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>A version's rate limit (docs/nvcf-contract.md#rate-limits) in front of the echo sample on the engine.</summary>
[Collection(DockerCollection.Name)]
public class RateLimitOnTheEngineTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private HttpClient Http => docker.Http;

    [Fact]
    public async Task ABurstOverTheLimitGets429AndPutAndDeleteChangeTheLimitAtOnce()
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name = "rate-limited",
            inferenceUrl = "/echo",
            containerImage = DockerFixture.EchoImage,
            rateLimit = new { rateLimit = "3-M", syncCheck = true },
        });
        await Http.DeployAsync(function, maxRequestConcurrency: 8);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var rateLimitPath = $"/v2/nvcf/ratelimit/functions/{function.Id()}/versions/{function.VersionId()}";

        // Five at once: three reach the function, two are refused before they take a slot.
        var burst = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => Http.InvokeAsync(function.Id(), $$"""{"i":{{i}}}""")));
        Assert.Equal(3, burst.Count(r => r.StatusCode == HttpStatusCode.OK));
        foreach (var refused in burst.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            var problem = await refused.ProblemAsync(HttpStatusCode.TooManyRequests);
            Assert.Equal("Too Many Requests", (string?)problem["title"]);
            Assert.Contains("allows 3-M", (string?)problem["detail"], StringComparison.Ordinal);
            Assert.InRange(int.Parse(refused.Header("Retry-After"), CultureInfo.InvariantCulture), 1, 60);
            Assert.Equal("errored", refused.Header("NVCF-STATUS"));
        }

        foreach (var response in burst)
        {
            response.Dispose();
        }

        // Raised without a redeploy: the next invocation is answered at once.
        using (var raised = await Http.PutAsJsonAsync(rateLimitPath, new { rateLimit = new { rateLimit = "10-M", syncCheck = true } }))
        {
            Assert.Equal(HttpStatusCode.NoContent, raised.StatusCode);
        }

        Assert.Equal("10-M", (string?)(await RateLimitOfAsync(function))!["rateLimit"]);
        using (var answered = await Http.InvokeAsync(function.Id(), """{"after":"raise"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Assert.Equal("""{"after":"raise"}""", await answered.Content.ReadAsStringAsync());
        }

        // Removed: more than any earlier limit allowed, all answered.
        using (var removed = await Http.DeleteAsync(rateLimitPath))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        Assert.Null(await RateLimitOfAsync(function));
        for (var i = 0; i < 12; i++)
        {
            using var response = await Http.InvokeAsync(function.Id(), "{}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Http.UndeployAsync(function);
    }

    private async Task<JsonObject?> RateLimitOfAsync(JsonObject function)
    {
        using var response = await Http.GetAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["rateLimit"]?.AsObject();
    }
}
