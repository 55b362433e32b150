using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>
/// Telemetries and registry credentials belong to the account that created them (docs/nvcf-contract.md#telemetries,
/// docs/nvcf-contract.md#registry-credentials): another account neither sees nor changes them, names and the telemetry
/// limit count per account, and a function names only its own account's telemetries.
/// </summary>
public sealed class TelemetriesAndRegistryCredentialsPerAccountTests(AccountsApiTests.TwoAccounts accounts) : IClassFixture<AccountsApiTests.TwoAccounts>
{
    private const string Telemetries = "/v2/nvcf/telemetries";
    private const string Credentials = "/v2/nvcf/registry-credentials";

    private HttpClient A => accounts.A;

    private HttpClient B => accounts.B;

    [Fact]
    public async Task AnotherAccountCannotListReadChangeOrDeleteATelemetryAndMayUseTheSameName()
    {
        var name = "collector-" + Guid.NewGuid().ToString("N")[..8];
        var id = await CreateTelemetryAsync(A, name);
        var notFound = $"Account 'nca-b' Telemetry '{id}': Not found";

        Assert.DoesNotContain(id, await B.GetStringAsync(Telemetries), StringComparison.Ordinal);
        await AssertProblemAsync(await B.GetAsync($"{Telemetries}/{id}"), HttpStatusCode.NotFound, notFound);
        await AssertProblemAsync(await B.DeleteAsync($"{Telemetries}/{id}"), HttpStatusCode.NotFound, notFound);
        await AssertProblemAsync(
            await B.PutAsJsonAsync($"/v2/nvcf/secrets/telemetries/{id}", new { secret = new { name, value = "b-value" } }), HttpStatusCode.NotFound, notFound);

        // The same name in B's account is another telemetry; a second one in A's is refused naming A's account.
        var ofB = await CreateTelemetryAsync(B, name);
        Assert.NotEqual(id, ofB);
        Assert.Equal([ofB], Ids(await B.GetFromJsonAsync<JsonObject>(Telemetries), "telemetries", "telemetryId").Where(t => t == ofB || t == id));
        await AssertProblemAsync(
            await A.PostAsJsonAsync(Telemetries, TelemetryRequest(name)), HttpStatusCode.BadRequest,
            $"Account 'nca-a': Telemetry and corresponding secret with name '{name}' already exists in the account");

        // A's is untouched by B's attempts.
        using (var own = await A.GetAsync($"{Telemetries}/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            Assert.Equal(name, (string?)(await own.Content.ReadFromJsonAsync<JsonObject>())!["telemetry"]!["name"]);
        }

        await DeleteAsync(B, $"{Telemetries}/{ofB}");
        await DeleteAsync(A, $"{Telemetries}/{id}");
    }

    [Fact]
    public async Task AFunctionMayNameOnlyItsOwnAccountsTelemetries()
    {
        var id = await CreateTelemetryAsync(A, "traces-" + Guid.NewGuid().ToString("N")[..8]);
        var name = "b-names-a-" + Guid.NewGuid().ToString("N")[..8];

        await AssertProblemAsync(
            await B.PostAsJsonAsync("/v2/nvcf/functions", FunctionNaming(name, id)), HttpStatusCode.NotFound, $"Account 'nca-b' Telemetry '{id}': Not found");
        Assert.DoesNotContain(name, await B.GetStringAsync("/v2/nvcf/functions"), StringComparison.Ordinal);

        var ofB = await B.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: name));
        await AssertProblemAsync(
            await B.PostAsJsonAsync($"/v2/nvcf/functions/{ofB.Id()}/versions", FunctionNaming(name, id)), HttpStatusCode.NotFound,
            $"Account 'nca-b' Telemetry '{id}': Not found");
        Assert.Single(await B.ListFunctionsAsync(), f => (string?)f["id"] == ofB.Id().ToString());

        // A's own function may name it, and then A cannot delete it.
        var ofA = await A.CreateFunctionAsync(FunctionNaming("a-names-a", id));
        Assert.Equal(id, (string?)ofA["telemetries"]!["tracesTelemetryId"]);
        await AssertProblemAsync(await A.DeleteAsync($"{Telemetries}/{id}"), HttpStatusCode.BadRequest, $"in use by Function id '{ofA.Id()}'");
    }

    [Fact]
    public async Task TheTelemetryLimitCountsEachAccountOnItsOwn()
    {
        var ofB = new List<string>();
        var count = Ids(await B.GetFromJsonAsync<JsonObject>(Telemetries), "telemetries", "telemetryId").Count;
        for (var i = count; i < 25; i++)
        {
            ofB.Add(await CreateTelemetryAsync(B, $"limit-{i}-" + Guid.NewGuid().ToString("N")[..6]));
        }

        await AssertProblemAsync(
            await B.PostAsJsonAsync(Telemetries, TelemetryRequest("one-too-many")), HttpStatusCode.BadRequest,
            "Account 'nca-b': Cannot create telemetry - maximum allowed telemetries (25) exceeded. Current count: 25");

        // A's account is not full.
        var ofA = await CreateTelemetryAsync(A, "a-after-b-is-full-" + Guid.NewGuid().ToString("N")[..6]);
        await DeleteAsync(A, $"{Telemetries}/{ofA}");
        foreach (var id in ofB)
        {
            await DeleteAsync(B, $"{Telemetries}/{id}");
        }
    }

    [Fact]
    public async Task AnotherAccountCannotListReadChangeOrDeleteARegistryCredentialAndMayUseTheSameName()
    {
        var name = "pull-" + Guid.NewGuid().ToString("N")[..8];
        var id = await AddCredentialAsync(A, name);
        var notFound = $"Registry Credential '{id}': Not found in account 'nca-b'";

        Assert.DoesNotContain(id, await B.GetStringAsync(Credentials), StringComparison.Ordinal);
        await AssertProblemAsync(await B.GetAsync($"{Credentials}/{id}"), HttpStatusCode.NotFound, notFound);
        await AssertProblemAsync(
            await B.PatchAsJsonAsync($"{Credentials}/{id}", new { artifactTypeEnums = new[] { "HELM" } }), HttpStatusCode.NotFound, notFound);
        await AssertProblemAsync(await B.DeleteAsync($"{Credentials}/{id}"), HttpStatusCode.NotFound, notFound);

        // The same hostname and name in B's account: no conflict, and B's answer names B's account.
        using (var added = await B.PostAsJsonAsync(Credentials, CredentialRequest(name)))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
            Assert.Equal("nca-b", (string?)(await added.Content.ReadFromJsonAsync<JsonObject>())!["registryCredential"]!["ncaId"]);
        }

        await AssertProblemAsync(
            await A.PostAsJsonAsync(Credentials, CredentialRequest(name)), HttpStatusCode.Conflict,
            $"Account 'nca-a': Registry credential '{name}' for hostname 'nvcr.io' already exists in the account");

        using (var own = await A.GetAsync($"{Credentials}/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            Assert.Equal("nca-a", (string?)(await own.Content.ReadFromJsonAsync<JsonObject>())!["registryCredential"]!["ncaId"]);
        }

        await DeleteAsync(A, $"{Credentials}/{id}");
        foreach (var mine in Ids(await B.GetFromJsonAsync<JsonObject>(Credentials), "registryCredentials", "registryCredentialId"))
        {
            await DeleteAsync(B, $"{Credentials}/{mine}");
        }
    }

    [Fact]
    public async Task ACredentialIsInUseOnlyByItsOwnAccountsFunctions()
    {
        var ofA = await AddCredentialAsync(A, "a-" + Guid.NewGuid().ToString("N")[..8]);
        var ofB = await AddCredentialAsync(B, "b-" + Guid.NewGuid().ToString("N")[..8]);
        var function = await A.CreateFunctionAsync(new { name = "on-nvcr", inferenceUrl = "/echo", containerImage = "nvcr.io/team/app:1" });

        // A's function on nvcr.io keeps A's credential, not B's.
        await DeleteAsync(B, $"{Credentials}/{ofB}");
        await AssertProblemAsync(
            await A.DeleteAsync($"{Credentials}/{ofA}"), HttpStatusCode.BadRequest,
            $"[Registry Credential '{ofA}': Cannot be deleted as it is in use by Function id '{function.Id()}', version '{function.VersionId()}'");

        using (var deleted = await A.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await DeleteAsync(A, $"{Credentials}/{ofA}");
    }

    private static async Task<string> CreateTelemetryAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsJsonAsync(Telemetries, TelemetryRequest(name));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return (string)JsonNode.Parse(body)!["telemetry"]!["telemetryId"]!;
    }

    private static async Task<string> AddCredentialAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsJsonAsync(Credentials, CredentialRequest(name));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return (string)JsonNode.Parse(body)!["registryCredential"]!["registryCredentialId"]!;
    }

    private static async Task DeleteAsync(HttpClient http, string path)
    {
        using var response = await http.DeleteAsync(path);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"DELETE {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        using (response)
        {
            var problem = await response.ProblemAsync(status);
            Assert.Contains(detail, (string?)problem["detail"], StringComparison.Ordinal);
        }
    }

    private static List<string> Ids(JsonObject? list, string field, string id) =>
        [.. list![field]!.AsArray().Select(t => (string)t![id]!)];

    private static object TelemetryRequest(string name) => new
    {
        endpoint = "https://collector.example.com:4318",
        protocol = "HTTP",
        provider = "OTEL_COLLECTOR",
        types = new[] { "TRACES" },
        secret = new { name, value = "the-secret-value" },
    };

    private static object FunctionNaming(string name, string telemetryId) =>
        new { name, inferenceUrl = "/echo", containerImage = "example/image:1", telemetries = new { tracesTelemetryId = telemetryId } };

    private static object CredentialRequest(string name) => new
    {
        registryHostname = "nvcr.io",
        secret = new { name, value = Convert.ToBase64String(Encoding.UTF8.GetBytes("$oauthtoken:nvapi-key")) },
        artifactTypes = new[] { "CONTAINER" },
    };
}
