using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>Registry credential management: what is stored, what is shown (never the secret), and what is refused.</summary>
public class RegistryCredentialsApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private const string Path = "/v2/nvcf/registry-credentials";

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task ACredentialIsStoredListedReadAndDeletedWithoutItsSecretEverComingBack()
    {
        var secret = Base64("$oauthtoken:nvapi-very-secret");
        using var added = await Http.PostAsJsonAsync(Path, new
        {
            registryHostname = "nvcr.io",
            secret = new { name = "ngc-" + Guid.NewGuid().ToString("N")[..8], value = secret },
            artifactTypes = new[] { "CONTAINER" },
            tags = new[] { "team-a" },
            description = "NGC pulls",
        });
        var body = await added.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.DoesNotContain(secret, body);
        Assert.DoesNotContain("nvapi-very-secret", body);
        var credential = JsonNode.Parse(body)!["registryCredential"]!;
        var id = (string)credential["registryCredentialId"]!;
        Assert.Equal("nvcr.io", (string?)credential["registryHostname"]);
        Assert.Equal("NGC Private Registry", (string?)credential["registryName"]);
        Assert.Equal("USER", (string?)credential["provisionedBy"]);
        Assert.Equal("local-nca-id", (string?)credential["ncaId"]);
        Assert.Equal(["CONTAINER"], credential["artifactTypes"]!.AsArray().Select(t => (string)t!));
        Assert.Equal(["team-a"], credential["tags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal("NGC pulls", (string?)credential["description"]);
        Assert.Null(credential["secret"]);

        var read = await Http.GetStringAsync($"{Path}/{id}");
        Assert.DoesNotContain(secret, read);
        Assert.Equal(id, (string?)JsonNode.Parse(read)!["registryCredential"]!["registryCredentialId"]);

        var list = await Http.GetStringAsync(Path);
        Assert.DoesNotContain(secret, list);
        Assert.Contains(JsonNode.Parse(list)!["registryCredentials"]!.AsArray(), c => (string?)c!["registryCredentialId"] == id);
        var helmOnly = await Http.GetFromJsonAsync<JsonObject>($"{Path}?artifactType=HELM");
        Assert.DoesNotContain(helmOnly!["registryCredentials"]!.AsArray(), c => (string?)c!["registryCredentialId"] == id);
        var systemOnly = await Http.GetFromJsonAsync<JsonObject>($"{Path}?provisionedBy=SYSTEM");
        Assert.Empty(systemOnly!["registryCredentials"]!.AsArray());

        using var deleted = await Http.DeleteAsync($"{Path}/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await Http.GetAsync($"{Path}/{id}");
        var problem = await gone.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Registry Credential '{id}': Not found in account 'local-nca-id'", (string?)problem["detail"]);
    }

    [Fact]
    public async Task UnknownIdsAnswer404ForReadUpdateAndDelete()
    {
        var id = Guid.NewGuid();
        using var read = await Http.GetAsync($"{Path}/{id}");
        await read.ProblemAsync(HttpStatusCode.NotFound);
        using var update = await Http.PatchAsJsonAsync($"{Path}/{id}", new { artifactTypeEnums = new[] { "HELM" } });
        await update.ProblemAsync(HttpStatusCode.NotFound);
        using var delete = await Http.DeleteAsync($"{Path}/{id}");
        await delete.ProblemAsync(HttpStatusCode.NotFound);
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { """{"secret":{"name":"n","value":"dTpw"},"artifactTypes":["CONTAINER"]}""", "field=registryHostname" },
        { """{"registryHostname":"-bad-.io","secret":{"name":"n","value":"dTpw"},"artifactTypes":["CONTAINER"]}""", "field=registryHostname" },
        { """{"registryHostname":"docker.io","artifactTypes":["CONTAINER"]}""", "field=secret" },
        { """{"registryHostname":"docker.io","secret":{"name":"bad name","value":"dTpw"},"artifactTypes":["CONTAINER"]}""", "field=secret.name" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":"dTpw"}}""", "field=artifactTypes" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":"dTpw"},"artifactTypes":[]}""", "field=artifactTypes" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":"dTpw"},"artifactTypes":["IMAGE"]}""", "$.artifactTypes" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":"dTpw"},"artifactTypes":["CONTAINER"],"tags":["a b"]}""", "field=tags" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":"not base64!"},"artifactTypes":["CONTAINER"]}""", "secret must be base64 encoded username:password format" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":"bm9jb2xvbg=="},"artifactTypes":["CONTAINER"]}""", "secret must be base64 encoded username:password format" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":{"user":"u"}},"artifactTypes":["CONTAINER"]}""", "secret must be base64 encoded username:password format" },
        { """{"registryHostname":"nvcr.io","secret":{"name":"n","value":"dTpw"},"artifactTypes":["CONTAINER"]}""", "Missing $oauthtoken username in NGC registry credential" },
        { """{"registryHostname":"quay.io","secret":{"name":"n","value":"dTpw"},"artifactTypes":["CONTAINER"]}""", "CONTAINER registry with hostname quay.io is not yet recognized" },
        { """{"registryHostname":"docker.io","secret":{"name":"n","value":"dTpw"},"artifactTypes":["MODEL"]}""", "MODEL registry with hostname docker.io is not yet recognized" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequestsAnswer400NamingWhatIsWrongAndStoreNothing(string body, string expected)
    {
        var before = await CountAsync();
        using var response = await Http.PostAsync(Path, new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, (string?)problem["detail"]);
        Assert.DoesNotContain("dTpw", (string?)problem["detail"]);
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task ASecondCredentialWithTheSameHostnameAndNameIsAConflictButAnotherNameIsNot()
    {
        var name = "dup-" + Guid.NewGuid().ToString("N")[..8];
        var first = await AddAsync("docker.io", name, "user:pw");
        using var duplicate = await Http.PostAsJsonAsync(Path, Request("docker.io", name, "user:other"));
        var problem = await duplicate.ProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains($"Registry credential '{name}' for hostname 'docker.io' already exists", (string?)problem["detail"]);

        var second = await AddAsync("docker.io", name + "-2", "user:pw");
        using var renamed = await Http.PatchAsJsonAsync($"{Path}/{second}", new { secret = new { name, value = Base64("user:pw") } });
        await renamed.ProblemAsync(HttpStatusCode.Conflict);

        await DeleteAsync(first);
        await DeleteAsync(second);
    }

    [Fact]
    public async Task PatchReplacesTheSecretAndAddsArtifactTypes()
    {
        var id = await AddAsync("127.0.0.1:5999", "local", "user:pw");

        using var updated = await Http.PatchAsJsonAsync($"{Path}/{id}", new
        {
            secret = new { name = "renamed", value = Base64("user:new-pw") },
            artifactTypeEnums = new[] { "HELM" },
        });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var credential = (await updated.Content.ReadFromJsonAsync<JsonObject>())!["registryCredential"]!;
        Assert.Equal("renamed", (string?)credential["registryCredentialName"]);
        Assert.Equal("Local Registry", (string?)credential["registryName"]);
        Assert.Equal(["CONTAINER", "HELM"], credential["artifactTypes"]!.AsArray().Select(t => (string)t!));
        Assert.DoesNotContain(Base64("user:new-pw"), credential.ToJsonString());

        using var empty = await Http.PatchAsJsonAsync($"{Path}/{id}", new { });
        Assert.Equal(
            "Invalid request: Either secret or artifact types must be specified",
            (string?)(await empty.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
        using var model = await Http.PatchAsJsonAsync($"{Path}/{id}", new { artifactTypeEnums = new[] { "MODEL" } });
        Assert.Contains("not recognized for artifact type 'MODEL'", (string?)(await model.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
        using var badSecret = await Http.PatchAsJsonAsync($"{Path}/{id}", new { secret = new { name = "renamed", value = Base64("no-colon") } });
        await badSecret.ProblemAsync(HttpStatusCode.BadRequest);

        var read = (await Http.GetFromJsonAsync<JsonObject>($"{Path}/{id}"))!["registryCredential"]!;
        Assert.Equal("renamed", (string?)read["registryCredentialName"]);
        Assert.Equal(["CONTAINER", "HELM"], read["artifactTypes"]!.AsArray().Select(t => (string)t!));
        await DeleteAsync(id);
    }

    [Fact]
    public async Task RecognizedRegistriesListTheCloudsRegistriesPerArtifactTypeAndLocalRegistries()
    {
        var registries = (await Http.GetFromJsonAsync<JsonObject>("/v2/nvcf/recognized-registries"))!["recognizedRegistries"]!;

        Assert.Equal(["CONTAINER", "HELM", "MODEL", "RESOURCE"], registries.AsObject().Select(p => p.Key).Order());
        var container = registries["CONTAINER"]!.AsArray().Select(r => ((string)r!["name"]!, (string)r["hostname"]!)).ToList();
        Assert.Contains(("NGC Private Registry", "nvcr.io"), container);
        Assert.Contains(("Docker Hub Registry", "docker.io"), container);
        Assert.Contains(("Local Registry", "localhost"), container);
        Assert.Contains(("NGC Private Registry", "api.ngc.nvidia.com"), registries["MODEL"]!.AsArray().Select(r => ((string)r!["name"]!, (string)r["hostname"]!)));
    }

    [Fact]
    public async Task AnUnknownFilterValueIsRefused()
    {
        using var response = await Http.GetAsync($"{Path}?artifactType=IMAGE");
        Assert.Contains("'artifactType'", (string?)(await response.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
    }

    private static object Request(string hostname, string name, string userAndPassword) =>
        new { registryHostname = hostname, secret = new { name, value = Base64(userAndPassword) }, artifactTypes = new[] { "CONTAINER" } };

    private async Task<string> AddAsync(string hostname, string name, string userAndPassword)
    {
        using var response = await Http.PostAsJsonAsync(Path, Request(hostname, name, userAndPassword));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["registryCredential"]!["registryCredentialId"]!;
    }

    private async Task DeleteAsync(string id)
    {
        using var response = await Http.DeleteAsync($"{Path}/{id}");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private async Task<int> CountAsync() => (await Http.GetFromJsonAsync<JsonObject>(Path))!["registryCredentials"]!.AsArray().Count;

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
