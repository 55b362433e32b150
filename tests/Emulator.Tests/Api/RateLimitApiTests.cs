using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>
/// Rate limits (docs/nvcf-contract.md#rate-limits): the <c>/v2/nvcf/ratelimit</c> endpoints, their validation, and
/// the 429 on every HTTP invocation route, on the fake runtime.
/// </summary>
public class RateLimitApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task PutReplacesAVersionsLimitAndDeleteRemovesItBothAnswering204()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "limited"));

        using var put = await Http.PutAsJsonAsync(RateLimitPath(function), new
        {
            rateLimit = new { rateLimit = "100-S,5000-M", exemptedNcaIds = new[] { "partner" }, perNcaIdRate = new Dictionary<string, string> { ["other"] = "3-M" }, syncCheck = true },
        });
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        var rateLimit = (await RateLimitOfAsync(function))!;
        Assert.Equal("100-S,5000-M", (string?)rateLimit["rateLimit"]);
        Assert.Equal(["partner"], rateLimit["exemptedNcaIds"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("3-M", (string?)rateLimit["perNcaIdRate"]!["other"]);
        Assert.True((bool)rateLimit["syncCheck"]!);

        using var delete = await Http.DeleteAsync(RateLimitPath(function));
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Null(await RateLimitOfAsync(function));

        using var again = await Http.DeleteAsync(RateLimitPath(function));
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
    }

    [Theory]
    [InlineData("""{"rateLimit":{"rateLimit":"1S"}}""", "field=rateLimit.rateLimit, rejected=1S, message=Invalid rate: Must conform to regex")]
    [InlineData("""{"rateLimit":{"rateLimit":"0-S"}}""", "field=rateLimit.rateLimit, rejected=0-S")]
    [InlineData("""{"rateLimit":{"rateLimit":"5-S\n"}}""", "field=rateLimit.rateLimit, rejected=5-S\n")]
    [InlineData("""{"rateLimit":{"rateLimit":"4-S, 5-S"}}""", "field=rateLimit.rateLimit, rejected=4-S, 5-S")]
    [InlineData("""{"rateLimit":{"rateLimit":""}}""", "field=rateLimit.rateLimit, rejected=,")]
    [InlineData("""{"rateLimit":{"perUserRate":"5-W"}}""", "field=rateLimit.perUserRate, rejected=5-W, message=Invalid per-user rate")]
    [InlineData("""{"rateLimit":{"perNcaIdRate":{"nca-b":"3-m"}}}""", "field=rateLimit.perNcaIdRate[nca-b], rejected=3-m, message=Invalid rate limit")]
    [InlineData("""{"rateLimit":{}}""", "field=rateLimit, rejected=RateLimitDto[rateLimit=null, exemptedNcaIds=null, perNcaIdRate=null, syncCheck=null, perUserRate=null], message=Either global rateLimit")]
    [InlineData("""{"rateLimit":{"exemptedNcaIds":["a"]}}""", "field=rateLimit, rejected=RateLimitDto[rateLimit=null, exemptedNcaIds=[a]")]
    [InlineData("""{"rateLimit":{"perNcaIdRate":{"a":"3-M"},"exemptedNcaIds":["a"]}}""", "field=rateLimit, rejected=RateLimitDto[rateLimit=null, exemptedNcaIds=[a], perNcaIdRate={a=3-M}")]
    public async Task AMalformedLimitIsRefusedNamingItsFieldAndNothingIsApplied(string body, string expected)
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "malformed"));
        using var valid = await Http.PutAsJsonAsync(RateLimitPath(function), new { rateLimit = new { rateLimit = "5-M" } });
        Assert.Equal(HttpStatusCode.NoContent, valid.StatusCode);

        using var refused = await Http.PutAsync(RateLimitPath(function), new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await refused.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("Validation failed: [object=updateFunctionRequest, ", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Contains(expected, (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Equal("5-M", (string?)(await RateLimitOfAsync(function))!["rateLimit"]);
    }

    [Fact]
    public async Task AnUnknownFunctionOrVersionIs404AndAMalformedId400()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "known"));
        var unknownVersion = Guid.NewGuid();
        var path = $"/v2/nvcf/ratelimit/functions/{function.Id()}/versions/{unknownVersion}";

        var put = await (await Http.PutAsJsonAsync(path, new { rateLimit = new { rateLimit = "5-M" } })).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Function id '{function.Id()}', version '{unknownVersion}': Not found in account 'local-nca-id'", (string?)put["detail"]);
        var delete = await (await Http.DeleteAsync(path)).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Function id '{function.Id()}', version '{unknownVersion}': Not found", (string?)delete["detail"]);

        await (await Http.DeleteAsync($"/v2/nvcf/ratelimit/functions/not-a-uuid/versions/{function.VersionId()}")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Null(await RateLimitOfAsync(function));
    }

    [Fact]
    public async Task OverTheLimitEveryHttpRouteAnswers429ProblemDetailsWithRetryAfter()
    {
        var function = await DeployedAsync("burst", "/echo", new { rateLimit = "3-M", syncCheck = true });

        // The routes share the version's counter: three answers in all, then 429 on each.
        Assert.Equal(HttpStatusCode.OK, (await Pexec(function)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Exec(function)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ByHeader(function)).StatusCode);

        foreach (var refused in new[] { await Pexec(function), await Exec(function), await ByHeader(function) })
        {
            var problem = await refused.ProblemAsync(HttpStatusCode.TooManyRequests);
            Assert.Equal("Too Many Requests", (string?)problem["title"]);
            Assert.Equal("urn:kaizen:problem-details:too-many-requests", (string?)problem["type"]);
            Assert.StartsWith("exceeded rate limit: ", (string?)problem["detail"], StringComparison.Ordinal);
            Assert.Contains("allows 3-M", (string?)problem["detail"], StringComparison.Ordinal);
            Assert.InRange(int.Parse(refused.Header("Retry-After"), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
            Assert.Equal("errored", refused.Header("NVCF-STATUS"));
            Assert.True(Guid.TryParse(refused.Header("NVCF-REQID"), out _));
        }
    }

    [Fact]
    public async Task WithoutSyncCheckTheRequestThatCrossesTheLimitIsStillAnswered()
    {
        var function = await DeployedAsync("async-check", "/echo", new { rateLimit = "2-M" });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await Pexec(function)).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task ANewLimitFromTheFunctionUpdateAppliesToADeployedVersionAtOnce()
    {
        var function = await DeployedAsync("raised", "/echo", new { rateLimit = "1-M", syncCheck = true });
        Assert.Equal(HttpStatusCode.OK, (await Pexec(function)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Pexec(function)).StatusCode);

        using var raised = await Http.PutAsJsonAsync(
            $"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}", new { rateLimit = new { rateLimit = "3-M", syncCheck = true } });
        Assert.Equal(HttpStatusCode.OK, raised.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Pexec(function)).StatusCode);

        using var tagsOnly = await Http.PutAsJsonAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}", new { tags = new[] { "a" } });
        Assert.Equal(HttpStatusCode.OK, tagsOnly.StatusCode);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], [(await Pexec(function)).StatusCode, (await Pexec(function)).StatusCode, (await Pexec(function)).StatusCode]);

        using var removed = await Http.DeleteAsync(RateLimitPath(function));
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Pexec(function)).StatusCode);
    }

    [Fact]
    public async Task TheLimitOfTheVersionChosenForARequestAppliesNotTheOthers()
    {
        var limited = await DeployedAsync("two-versions", "/any/x", new { rateLimit = "1-M", syncCheck = true });
        var free = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "two-versions", inferenceUrl: "/any/x"), limited.Id());
        await Http.DeployAsync(free);
        await Http.WaitForStatusAsync(free, Timeout, "ACTIVE");

        using (var pinned = await Http.InvokeAsync(limited.Id(), "{}", limited.VersionId()))
        {
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        var refused = 0;
        for (var i = 0; i < 24; i++)
        {
            using var response = await Http.InvokeAsync(limited.Id(), "{}");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused++;
                continue;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(free.VersionId().ToString(), (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]);
        }

        // The version is picked first, then its limit checked: requests that land on the limited one are refused.
        Assert.InRange(refused, 1, 23);
    }

    private async Task<JsonObject> DeployedAsync(string name, string inferenceUrl, object rateLimit)
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name,
            inferenceUrl,
            inferencePort = 8000,
            containerImage = FakeRuntime.Echo,
            rateLimit,
        });
        await Http.DeployAsync(function, maxRequestConcurrency: 4);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        return function;
    }

    private Task<HttpResponseMessage> Pexec(JsonObject function) => Http.InvokeAsync(function.Id(), "{}");

    private Task<HttpResponseMessage> Exec(JsonObject function) =>
        Http.PostAsJsonAsync($"/v2/nvcf/exec/functions/{function.Id()}", new { requestBody = new { prompt = "hi" } });

    private Task<HttpResponseMessage> ByHeader(JsonObject function)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Add("function-id", function.Id().ToString());
        return Http.SendAsync(request);
    }

    private async Task<JsonObject?> RateLimitOfAsync(JsonObject function)
    {
        using var response = await Http.GetAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["rateLimit"]?.AsObject();
    }

    private static string RateLimitPath(JsonObject function) =>
        $"/v2/nvcf/ratelimit/functions/{function.Id()}/versions/{function.VersionId()}";
}
