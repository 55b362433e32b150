using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

public class FunctionsApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task ANewFunctionGetsTheCloudsDefaultsAndOmitsNulls()
    {
        var function = await Http.CreateFunctionAsync(new { name = "defaults", inferenceUrl = "/infer", inferencePort = 9000, containerImage = "example/image:1" });

        Assert.Equal("INACTIVE", (string?)function["status"]);
        Assert.Equal("defaults", (string?)function["description"]);
        Assert.Equal("CUSTOM", (string?)function["apiBodyFormat"]);
        Assert.Equal("DEFAULT", (string?)function["functionType"]);
        Assert.Equal("local-nca-id", (string?)function["ncaId"]);
        Assert.Equal("/v2/health/ready", (string?)function["healthUri"]);
        var health = function["health"]!.AsObject();
        Assert.Equal("HTTP", (string?)health["protocol"]);
        Assert.Equal("/v2/health/ready", (string?)health["uri"]);
        Assert.Equal(9000, (int)health["port"]!);
        Assert.Equal("PT10S", (string?)health["timeout"]);
        Assert.Equal(200, (int)health["expectedStatusCode"]!);
        Assert.False(function.ContainsKey("models"));
        Assert.False(function.ContainsKey("helmChart"));
        Assert.False(function.ContainsKey("tags"));
        Assert.NotEqual(function.Id(), function.VersionId());
    }

    [Fact]
    public async Task AGrpcFunctionIsHealthCheckedOverGrpcOnPort8000ByDefault()
    {
        var function = await Http.CreateFunctionAsync(new { name = "grpc-fn", inferenceUrl = "/grpc", containerImage = "example/grpc:1" });

        Assert.Equal("gRPC", (string?)function["health"]!["protocol"]);
        Assert.Equal(8000, (int)function["health"]!["port"]!);
    }

    [Fact]
    public async Task EnumsAreReadCaseInsensitivelyAndUnknownFieldsIgnored()
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name = "enums",
            inferenceUrl = "/echo",
            containerImage = "example/image:1",
            functionType = "streaming",
            apiBodyFormat = "predict_v2",
            health = new { protocol = "http", uri = "/ready", port = 8080, timeout = "PT3S", expectedStatusCode = 204 },
            somethingNew = new { nested = true },
        });

        Assert.Equal("STREAMING", (string?)function["functionType"]);
        Assert.Equal("PREDICT_V2", (string?)function["apiBodyFormat"]);
        Assert.Equal("PT3S", (string?)function["health"]!["timeout"]);
        Assert.Equal("/ready", (string?)function["healthUri"]);
    }

    public static TheoryData<string, string> InvalidFunctions => new()
    {
        { """{"inferenceUrl":"/e","containerImage":"i"}""", "field=name" },
        { """{"name":"has space","inferenceUrl":"/e","containerImage":"i"}""", "field=name" },
        { """{"name":"-dash-first","inferenceUrl":"/e","containerImage":"i"}""", "field=name" },
        { """{"name":"trailing-newline\n","inferenceUrl":"/e","containerImage":"i"}""", "field=name" },
        { "{\"name\":\"" + new string('a', 129) + "\",\"inferenceUrl\":\"/e\",\"containerImage\":\"i\"}", "field=name" },
        { """{"name":"n","containerImage":"i"}""", "field=inferenceUrl" },
        { """{"name":"n","inferenceUrl":"/e"}""", "One of the following properties 'containerImage', 'models', or 'helmChart' must be specified" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","helmChart":"h","helmChartServiceName":"s"}""", "Only one of the following properties" },
        { """{"name":"n","inferenceUrl":"/e","helmChart":"h"}""", "'helmChart' and 'helmChartServiceName'" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","health":{"protocol":"HTTP","uri":" ","port":8000,"timeout":"PT1S","expectedStatusCode":200}}""", "field=health.uri" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","health":{"protocol":"HTTP","uri":"/h","port":8000,"timeout":"soon","expectedStatusCode":200}}""", "ISO-8601" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","functionType":"QUANTUM"}""", "Failed to read the request body" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","tags":["bad tag"]}""", "field=tags" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","tags":["tag\n"]}""", "field=tags" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","containerEnvironment":[{"key":"A"}]}""", "field=containerEnvironment" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","containerArgs":"sh -c 'oops"}""", "field=containerArgs" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","secrets":[{"name":"s","value":"a"},{"name":"s","value":"b"}]}""", "duplicate secret name" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","rateLimit":{"rateLimit":"100-X"}}""", "field=rateLimit" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","description":"x","description":"y"}""", "Duplicate property" },
        { """{"name":"n","inferenceUrl":"/e","containerImage":"i","models":[{"name":"m"}]}""", "Only one of" },
        { "not json", "Failed to read the request body" },
    };

    [Theory]
    [MemberData(nameof(InvalidFunctions))]
    public async Task InvalidFunctionsAreRejectedWithProblemDetailsThatSayWhy(string body, string expectedDetail)
    {
        using var response = await Http.PostAsync("/v2/nvcf/functions", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expectedDetail, (string?)problem["detail"]);
        Assert.Equal("Bad Request", (string?)problem["title"]);
    }

    [Fact]
    public async Task ANewVersionKeepsTheFunctionIdAndBothAreListed()
    {
        var first = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "versioned"));
        var second = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "versioned"), first.Id());

        Assert.Equal(first.Id(), second.Id());
        Assert.NotEqual(first.VersionId(), second.VersionId());

        var versions = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{first.Id()}/versions");
        Assert.Equal(
            new[] { first.VersionId(), second.VersionId() }.Order(),
            versions!["functions"]!.AsArray().Select(f => Guid.Parse((string)f!["versionId"]!)).Order());

        var all = await Http.GetFromJsonAsync<JsonObject>("/v2/nvcf/functions");
        Assert.Equal(2, all!["functions"]!.AsArray().Count(f => (string?)f!["id"] == first.Id().ToString()));

        var ids = await Http.GetFromJsonAsync<JsonObject>("/v2/nvcf/functions/ids?visibility=private");
        Assert.Single(ids!["functionIds"]!.AsArray(), id => (string?)id == first.Id().ToString());
    }

    [Fact]
    public async Task AVersionOfAnUnknownFunctionIsNotFound()
    {
        using var response = await Http.PostAsJsonAsync($"/v2/nvcf/functions/{Guid.NewGuid()}/versions", FakeEmulatorFixture.EchoFunction());
        await response.ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task VisibilityFiltersAsInTheCloudAndRejectsUnknownValues()
    {
        await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "visible"));

        var shared = await Http.GetFromJsonAsync<JsonObject>("/v2/nvcf/functions?visibility=public&visibility=authorized");
        Assert.Empty(shared!["functions"]!.AsArray());

        var own = await Http.GetFromJsonAsync<JsonObject>("/v2/nvcf/functions?visibility=PUBLIC,Private");
        Assert.NotEmpty(own!["functions"]!.AsArray());

        using var bad = await Http.GetAsync("/v2/nvcf/functions?visibility=everyone");
        await bad.ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task UnknownAndMalformedIdsAreNotFoundAndBadRequest()
    {
        using var unknown = await Http.GetAsync($"/v2/nvcf/functions/{Guid.NewGuid()}/versions/{Guid.NewGuid()}");
        await unknown.ProblemAsync(HttpStatusCode.NotFound);

        using var malformed = await Http.GetAsync($"/v2/nvcf/functions/not-a-uuid/versions/{Guid.NewGuid()}");
        var problem = await malformed.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not-a-uuid", (string?)problem["detail"]);
    }

    [Fact]
    public async Task OnlyTheMutableFieldsOfAVersionCanBeUpdatedAlsoThroughTheDeprecatedAlias()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "updatable"));
        var path = $"/functions/{function.Id()}/versions/{function.VersionId()}";

        using var updated = await Http.PutAsJsonAsync("/v2/nvcf" + path, new { tags = new[] { "team:a", "stage=dev" } });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var tags = (await updated.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["tags"]!.AsArray();
        Assert.Equal(["team:a", "stage=dev"], tags.Select(t => (string)t!));

        using var viaAlias = await Http.PutAsJsonAsync("/v2/nvcf/metadata" + path, new { rateLimit = new { rateLimit = "100-S" } });
        Assert.Equal(HttpStatusCode.OK, viaAlias.StatusCode);
        Assert.Equal("100-S", (string?)(await viaAlias.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["rateLimit"]!["rateLimit"]);

        using var empty = await Http.PutAsJsonAsync("/v2/nvcf" + path, new { containerImage = "other/image:2" });
        var problem = await empty.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(
            "Invalid request: at least one of 'tags', 'rateLimit', 'modelUpdates', or 'llmInvocationConfig' must be specified",
            (string?)problem["detail"]);
    }

    [Fact]
    public async Task DeletingAVersionAnswers204AndItIsGone()
    {
        var function = await Http.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "deletable"));
        var path = $"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}";

        using var deleted = await Http.DeleteAsync(path);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await deleted.Content.ReadAsByteArrayAsync());

        using var again = await Http.GetAsync(path);
        await again.ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task SecretsAreListedByNameOnlyAndOnlyWhenAsked()
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name = "secretive",
            inferenceUrl = "/echo",
            containerImage = "example/image:1",
            secrets = new object[] { new { name = "API_KEY", value = "s3cret" }, new { name = "CONFIG", value = new { a = 1 } } },
        });

        Assert.Equal(["API_KEY", "CONFIG"], function["secrets"]!.AsArray().Select(s => (string)s!));
        Assert.DoesNotContain("s3cret", function.ToJsonString());

        var hidden = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}?includeSecrets=false");
        Assert.False(hidden!["function"]!.AsObject().ContainsKey("secrets"));
    }

    [Fact]
    public async Task SecretsAreMergedByNameThroughTheSecretsApiAndRefusedAsTheCloudRefusesThem()
    {
        var plain = await Http.CreateFunctionAsync(new { name = "secrets-later", inferenceUrl = "/echo", containerImage = "example/image:1" });
        var path = $"/v2/nvcf/secrets/functions/{plain.Id()}/versions/{plain.VersionId()}";
        var prefix = $"Function id '{plain.Id()}', version '{plain.VersionId()}':";

        using (var added = await Http.PutAsJsonAsync(path, new { secrets = new object[] { new { name = "API_KEY", value = "one" }, new { name = "CONFIG", value = new { a = 1 } } } }))
        {
            Assert.Equal(HttpStatusCode.NoContent, added.StatusCode);
        }

        using (var updated = await Http.PutAsJsonAsync(path, new { secrets = new[] { new { name = "API_KEY", value = "two" }, new { name = "TOKEN", value = "t" } } }))
        {
            Assert.Equal(HttpStatusCode.NoContent, updated.StatusCode);
        }

        var version = await Http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/functions/{plain.Id()}/versions/{plain.VersionId()}");
        Assert.Equal(["API_KEY", "CONFIG", "TOKEN"], version!["function"]!["secrets"]!.AsArray().Select(s => (string)s!).Order(StringComparer.Ordinal));

        using var empty = await Http.PutAsJsonAsync(path, new { secrets = Array.Empty<object>() });
        Assert.Equal($"{prefix} Missing secrets in the payload", (string?)(await empty.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
        using var twice = await Http.PutAsJsonAsync(path, new { secrets = new[] { new { name = "A", value = "1" }, new { name = "A", value = "2" } } });
        Assert.Equal($"{prefix} Duplicate secrets keys in the payload", (string?)(await twice.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
        using var badName = await Http.PutAsJsonAsync(path, new { secrets = new[] { new { name = "-bad", value = "1" } } });
        Assert.Contains("secrets.name", (string?)(await badName.ProblemAsync(HttpStatusCode.BadRequest))["detail"], StringComparison.Ordinal);
        using var unknown = await Http.PutAsJsonAsync($"/v2/nvcf/secrets/functions/{plain.Id()}/versions/{Guid.NewGuid()}", new { secrets = new[] { new { name = "A", value = "1" } } });
        await unknown.ProblemAsync(HttpStatusCode.NotFound);

        // The first secrets of a deployed version are refused: they can only be added while it is INACTIVE.
        var deployed = await Http.CreateFunctionAsync(new { name = "secrets-deployed", inferenceUrl = "/echo", containerImage = "example/image:1" });
        await Http.DeployAsync(deployed, minInstances: 0);
        using var refused = await Http.PutAsJsonAsync(
            $"/v2/nvcf/secrets/functions/{deployed.Id()}/versions/{deployed.VersionId()}", new { secrets = new[] { new { name = "A", value = "1" } } });
        Assert.EndsWith("Add secrets only when the function is 'INACTIVE'", (string?)(await refused.ProblemAsync(HttpStatusCode.BadRequest))["detail"], StringComparison.Ordinal);
        await Http.UndeployAsync(deployed);
    }

    [Theory]
    [InlineData("/v2/orgs/my-org/nvcf/functions")]
    [InlineData("/v2/orgs/my-org/teams/my-team/nvcf/functions")]
    public async Task OrgScopedPathsReachTheSameHandlers(string path)
    {
        using var created = await Http.PostAsJsonAsync(path, FakeEmulatorFixture.EchoFunction(name: "org-scoped"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var function = (await created.Content.ReadFromJsonAsync<JsonObject>())!["function"]!.AsObject();

        using var fetched = await Http.GetAsync($"{path}/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
    }

    [Fact]
    public async Task EveryApiCallNeedsABearerToken()
    {
        using var anonymous = fixture.Factory.CreateClient();

        using var missing = await anonymous.GetAsync("/v2/nvcf/functions");
        var problem = await missing.ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Header of type `authorization` was missing", (string?)problem["detail"]);

        using var basic = new HttpRequestMessage(HttpMethod.Get, "/v2/nvcf/functions");
        basic.Headers.Authorization = new("Basic", "dXNlcjpwYXNz");
        using var wrongScheme = await anonymous.SendAsync(basic);
        await wrongScheme.ProblemAsync(HttpStatusCode.Unauthorized);

        using var health = await anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task ConfiguredApiKeysAreTheOnlyTokensAccepted()
    {
        await using var factory = new EmulatorFactory(fixture.Runtime, new Dictionary<string, string?> { ["Emulator:ApiKeys:0"] = "nvapi-local" });
        using var http = factory.CreateClient();

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v2/nvcf/functions");
        wrong.Headers.Authorization = new("Bearer", "nvapi-other");
        await (await http.SendAsync(wrong)).ProblemAsync(HttpStatusCode.Unauthorized);

        using var right = new HttpRequestMessage(HttpMethod.Get, "/v2/nvcf/functions");
        right.Headers.Authorization = new("Bearer", "nvapi-local");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(right)).StatusCode);
    }
}
