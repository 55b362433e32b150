using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>
/// Two accounts and a key with few scopes on one emulator (fake runtime): what each key sees, may change and may
/// invoke, before and after a function is shared (docs/nvcf-contract.md#accounts-and-api-keys,
/// docs/nvcf-contract.md#scopes, docs/nvcf-contract.md#function-sharing).
/// </summary>
public sealed class AccountsApiTests(AccountsApiTests.TwoAccounts accounts) : IClassFixture<AccountsApiTests.TwoAccounts>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private HttpClient A => accounts.A;

    private HttpClient B => accounts.B;

    [Fact]
    public async Task AnUnknownKeyGets401AndAKeyWithoutTheEndpointsScopeGets403()
    {
        using var unknown = accounts.Client("not-a-key");
        using (var refused = await unknown.GetAsync("/v2/nvcf/functions"))
        {
            var problem = await refused.ProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Equal("Unauthorized access", (string?)problem["detail"]);
        }

        var function = await A.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "scoped"));
        using var reader = accounts.Client(TestAccounts.ReaderKey);

        // apikey:list_functions lists; creating, deploying and invoking need scopes it lacks.
        using (var listed = await reader.GetAsync("/v2/nvcf/functions"))
        {
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        }

        using (var create = await reader.PostAsJsonAsync("/v2/nvcf/functions", FakeEmulatorFixture.EchoFunction()))
        {
            var problem = await create.ProblemAsync(HttpStatusCode.Forbidden);
            Assert.Equal("Access Denied", (string?)problem["detail"]);
            Assert.Equal("urn:kaizen:problem-details:forbidden", (string?)problem["type"]);
        }

        using (var invoke = await reader.InvokeAsync(function.Id(), "{}"))
        {
            await invoke.ProblemAsync(HttpStatusCode.Forbidden);
        }

        using (var share = await reader.PostAsJsonAsync($"/v2/nvcf/authorizations/functions/{function.Id()}", new { authorizedParties = new[] { new { ncaId = "nca-b" } } }))
        {
            await share.ProblemAsync(HttpStatusCode.Forbidden);
        }

        // The same key through HTTP invocation (function-id header) is refused the same way.
        using var http = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        http.Headers.Add("function-id", function.Id().ToString());
        using (var viaHeader = await reader.SendAsync(http))
        {
            await viaHeader.ProblemAsync(HttpStatusCode.Forbidden);
        }
    }

    [Fact]
    public async Task AnotherAccountSeesAndInvokesAFunctionOnlyWhileItIsShared()
    {
        var function = await A.CreateFunctionAsync(new
        {
            name = "shared-headers",
            inferenceUrl = "/headers",
            inferencePort = 8000,
            containerImage = FakeRuntime.Echo,
            containerEnvironment = new[] { new { key = "MODE", value = "private" } },
            secrets = new[] { new { name = "token", value = "s3cret" } },
        });
        await A.DeployAsync(function);
        await A.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var versionPath = $"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}";

        // Not shared: B sees nothing, and every way to it answers as if it did not exist, naming B's account.
        Assert.Empty(await B.ListFunctionsAsync());
        await AssertNotFoundAsync(await B.GetAsync(versionPath), $"Function id '{function.Id()}', version '{function.VersionId()}': Not found in account 'nca-b'");
        await AssertNotFoundAsync(await B.InvokeAsync(function.Id(), "{}"), $"Function id '{function.Id()}' version 'any': Specified function in account 'nca-b' is not found");

        // Shared with B.
        using (var shared = await A.PostAsJsonAsync(SharingPath(function), new { authorizedParties = new[] { new { ncaId = "nca-b" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
            var answer = (await shared.Content.ReadFromJsonAsync<JsonObject>())!["function"]!;
            Assert.Equal(function.Id().ToString(), (string?)answer["id"]);
            Assert.Equal("nca-a", (string?)answer["ncaId"]);
            Assert.Null(answer["versionId"]);
            Assert.Equal(["nca-b"], answer["authorizedParties"]!.AsArray().Select(p => (string?)p!["ncaId"]));
        }

        Assert.Empty(await B.ListFunctionsAsync("?visibility=private"));
        var listed = Assert.Single(await B.ListFunctionsAsync("?visibility=authorized"));
        Assert.Equal(function.VersionId().ToString(), (string?)listed["versionId"]);
        Assert.Equal("nca-a", (string?)listed["ncaId"]);
        Assert.True((bool)listed["ownedByDifferentAccount"]!);
        foreach (var stripped in new[] { "inferenceUrl", "inferencePort", "containerImage", "containerEnvironment", "secrets", "activeInstances" })
        {
            Assert.Null(listed[stripped]);
        }

        // The owner still sees its own in full, not marked.
        var own = Assert.Single(await A.ListFunctionsAsync("?visibility=private"), f => (string?)f["id"] == function.Id().ToString());
        Assert.Null(own["ownedByDifferentAccount"]);
        Assert.Equal(FakeRuntime.Echo, (string?)own["containerImage"]);
        Assert.NotNull(own["activeInstances"]);

        // B invokes it, as itself: the container sees B's account.
        using (var invoked = await B.InvokeAsync(function.Id(), "{}"))
        {
            Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
            var seen = JsonNode.Parse(await invoked.Content.ReadAsStringAsync())!;
            Assert.Equal("nca-b", (string?)seen["NVCF-NCAID"]);
        }

        // Shared means invoke and read, never change: B's updates, deletes and undeploys are not found.
        await AssertNotFoundAsync(await B.PutAsJsonAsync(versionPath, new { tags = new[] { "b" } }), "Not found in account 'nca-b'");
        await AssertNotFoundAsync(await B.DeleteAsync($"/v2/nvcf/deployments/functions/{function.Id()}/versions/{function.VersionId()}"), "Deployment not found");
        await AssertNotFoundAsync(await B.DeleteAsync(versionPath), "Not found in account 'nca-b'");
        await AssertNotFoundAsync(await B.GetAsync(SharingPath(function)), $"Function id '{function.Id()}': Not found in account 'nca-b'");

        // Removed again: B is refused as before.
        using (var removed = await A.PatchAsJsonAsync(SharingPath(function) + "/remove", new { authorizedParty = new { ncaId = "nca-b" } }))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
            Assert.Empty((await removed.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["authorizedParties"]!.AsArray());
        }

        Assert.Empty(await B.ListFunctionsAsync());
        await AssertNotFoundAsync(await B.InvokeAsync(function.Id(), "{}"), "Specified function in account 'nca-b' is not found");
        await A.UndeployAsync(function);
    }

    [Fact]
    public async Task AVersionSharedAloneIsTheOnlyOneTheOtherAccountReachesAndNewVersionsInheritFunctionSharing()
    {
        var first = await A.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "per-version"));
        var second = await A.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "per-version"), first.Id());
        await A.DeployAsync(first);
        await A.DeployAsync(second);
        await A.WaitForStatusAsync(first, Timeout, "ACTIVE");
        await A.WaitForStatusAsync(second, Timeout, "ACTIVE");

        using (var shared = await A.PostAsJsonAsync(SharingPath(first, first.VersionId()), new { authorizedParties = new[] { new { ncaId = "nca-b" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
            Assert.Equal(first.VersionId().ToString(), (string?)(await shared.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["versionId"]);
        }

        Assert.Equal([first.VersionId().ToString()], (await B.ListFunctionsAsync()).Select(f => (string?)f["versionId"]));
        for (var i = 0; i < 5; i++)
        {
            using var invoked = await B.InvokeAsync(first.Id(), "{}");
            Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
        }

        await AssertNotFoundAsync(await B.InvokeAsync(first.Id(), "{}", second.VersionId()), "Specified function in account 'nca-b' is not found");

        // The listing of a function's sharing shows every version with its accounts.
        using (var list = await A.GetAsync(SharingPath(first)))
        {
            var functions = (await list.Content.ReadFromJsonAsync<JsonObject>())!["functions"]!.AsArray();
            Assert.Equal(["nca-b"], functions.Single(f => (string?)f!["versionId"] == first.VersionId().ToString())!["authorizedParties"]!.AsArray().Select(p => (string?)p!["ncaId"]));
            Assert.Empty(functions.Single(f => (string?)f!["versionId"] == second.VersionId().ToString())!["authorizedParties"]!.AsArray());
        }

        // Function level: every version, and the versions added later.
        using (var all = await A.PostAsJsonAsync(SharingPath(first), new { authorizedParties = new[] { new { ncaId = "nca-b" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        }

        var third = await A.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "per-version"), first.Id());
        Assert.Equal(3, (await B.ListFunctionsAsync("?visibility=authorized")).Count);
        using (var get = await B.GetAsync($"/v2/nvcf/functions/{third.Id()}/versions/{third.VersionId()}"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.True((bool)(await get.Content.ReadFromJsonAsync<JsonObject>())!["function"]!["ownedByDifferentAccount"]!);
        }

        using (var deleted = await A.DeleteAsync(SharingPath(first)))
        {
            var answer = (await deleted.Content.ReadFromJsonAsync<JsonObject>())!["function"]!;
            Assert.Null(answer["authorizedParties"]);
        }

        Assert.Equal([first.VersionId().ToString()], (await B.ListFunctionsAsync()).Select(f => (string?)f["versionId"]));
        await A.UndeployAsync(first);
        await A.UndeployAsync(second);
    }

    [Theory]
    [InlineData("""{"authorizedParties":[]}""", "field=authorizedParties, rejected=[], message=must not be empty")]
    [InlineData("""{}""", "field=authorizedParties, rejected=null, message=must not be empty")]
    [InlineData("""{"authorizedParties":[{"ncaId":" "}]}""", "field=authorizedParties[0].ncaId")]
    [InlineData("""{"authorizedParties":[{"ncaId":"nca-b"},{"ncaId":"nca-b"}]}""", "Duplicate authorized accounts specified")]
    [InlineData("""{"authorizedParties":[{"ncaId":"*"},{"ncaId":"nca-b"}]}""", "Multiple authz parties or clientId specified with wildcard account")]
    [InlineData("""{"authorizedParties":[{"ncaId":"*"}]}""", "Only NVIDIA Super Admin can make a function public")]
    [InlineData("""{"authorizedParties":[{"ncaId":"nca-a"}]}""", "Invalid request: Authorized party mapped to account 'nca-a' is invalid")]
    [InlineData("""{"authorizedParties":[{"ncaId":"nca-b"},{"ncaId":"nobody"}]}""", "Account with ncaId 'nobody' not found")]
    [InlineData("""{"authorizedParties":[{"ncaId":"nca-b","clientId":"c1"}]}""", "Client 'c1' is not found")]
    public async Task BadPartiesAre400AndChangeNothing(string body, string expected)
    {
        var function = await A.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "bad-parties"));
        using (var valid = await A.PostAsJsonAsync(SharingPath(function), new { authorizedParties = new[] { new { ncaId = "reader" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        }

        using var refused = await A.PostAsync(SharingPath(function), new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await refused.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, (string?)problem["detail"], StringComparison.Ordinal);

        using var after = await A.GetAsync(SharingPath(function));
        var versions = (await after.Content.ReadFromJsonAsync<JsonObject>())!["functions"]!.AsArray();
        Assert.Equal(["reader"], versions.Single()!["authorizedParties"]!.AsArray().Select(p => (string?)p!["ncaId"]));
    }

    [Fact]
    public async Task AddNeedsExistingPartiesAndRefusesOneAlreadyThereRemoveNeedsOneThatIs()
    {
        var function = await A.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "patched"));
        var add = SharingPath(function) + "/add";
        var remove = SharingPath(function) + "/remove";

        await AssertStatusAsync(await A.PatchAsJsonAsync(add, new { authorizedParty = new { ncaId = "nca-b" } }), HttpStatusCode.NotFound, "Does not have any authorized parties to be patched");
        await AssertStatusAsync(await A.PostAsJsonAsync(SharingPath(function), new { authorizedParties = new[] { new { ncaId = "reader" } } }), HttpStatusCode.OK, "reader");
        await AssertStatusAsync(await A.PatchAsJsonAsync(add, new { authorizedParty = new { ncaId = "nca-b" } }), HttpStatusCode.OK, "nca-b");
        await AssertStatusAsync(await A.PatchAsJsonAsync(add, new { authorizedParty = new { ncaId = "nca-b" } }), HttpStatusCode.Conflict, "Account 'nca-b' is already authorized to access the function");
        await AssertStatusAsync(await A.PatchAsJsonAsync(add, new { authorizedParty = new { ncaId = "*" } }), HttpStatusCode.BadRequest, "Invalid authz account '*' specified for add operation");
        await AssertStatusAsync(await A.PatchAsJsonAsync(add, new { authorizedParty = new { ncaId = "ghost" } }), HttpStatusCode.BadRequest, "Account with ncaId 'ghost' not found");
        await AssertStatusAsync(await A.PatchAsJsonAsync(add, new { }), HttpStatusCode.BadRequest, "field=authorizedParty, rejected=null, message=must not be null");
        await AssertStatusAsync(await A.PatchAsJsonAsync(remove, new { authorizedParty = new { ncaId = "nca-b" } }), HttpStatusCode.OK, "reader");
        await AssertStatusAsync(await A.PatchAsJsonAsync(remove, new { authorizedParty = new { ncaId = "nca-b" } }), HttpStatusCode.NotFound, "Specified account 'nca-b' is not an authorized party for the function");

        // Another account's function cannot be shared by B: not found in B's account.
        await AssertStatusAsync(await B.PostAsJsonAsync(SharingPath(function), new { authorizedParties = new[] { new { ncaId = "reader" } } }), HttpStatusCode.NotFound, "Not found in account 'nca-b'");
    }

    private static string SharingPath(JsonObject function, Guid? versionId = null) =>
        $"/v2/nvcf/authorizations/functions/{function.Id()}" + (versionId is { } v ? $"/versions/{v}" : string.Empty);


    [Fact]
    public async Task AnAccountsAssetsAndPendingRequestsAreNotAnotherAccounts()
    {
        using var created = await A.PostAsJsonAsync("/v2/nvcf/assets", new { contentType = "text/plain", description = "a's prompt" });
        var asset = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var assetId = (string)asset["assetId"]!;
        var uploadUrl = new Uri((string)asset["uploadUrl"]!);
        Assert.Contains((await A.GetFromJsonAsync<JsonObject>("/v2/nvcf/assets"))!["assets"]!.AsArray(), a => (string?)a!["assetId"] == assetId);
        using (var upload = await accounts.Factory.CreateClient().PutAsync(uploadUrl.PathAndQuery, new StringContent("a's bytes")))
        {
            Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        }

        // B neither lists, reads, deletes nor references A's asset.
        Assert.DoesNotContain((await B.GetFromJsonAsync<JsonObject>("/v2/nvcf/assets"))!["assets"]!.AsArray(), a => (string?)a!["assetId"] == assetId);
        await AssertNotFoundAsync(await B.GetAsync($"/v2/nvcf/assets/{assetId}"), $"Asset id '{assetId}' not found");
        await AssertNotFoundAsync(await B.DeleteAsync($"/v2/nvcf/assets/{assetId}"), $"Asset id '{assetId}' not found");
        var bFunction = await B.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "b-echo"));
        try
        {
            await B.DeployAsync(bFunction);
            await B.WaitForStatusAsync(bFunction, Timeout, "ACTIVE");
            await AssertNotFoundAsync(
                await B.InvokeAsync(bFunction.Id(), "{}", configure: r => r.Headers.Add("NVCF-INPUT-ASSET-REFERENCES", assetId)), $"Asset id '{assetId}' not found");
        }
        finally
        {
            await RemoveAsync(B, bFunction);
        }

        Assert.Equal("a's prompt", (string?)(await A.GetFromJsonAsync<JsonObject>($"/v2/nvcf/assets/{assetId}"))!["asset"]!["description"]);

        // A request of A's still running after its window: B can neither poll it nor find it in a queue.
        var slow = await A.CreateFunctionAsync(FakeEmulatorFixture.EchoFunction(name: "a-slow", inferenceUrl: "/slow"));
        await A.DeployAsync(slow);
        await A.WaitForStatusAsync(slow, Timeout, "ACTIVE");
        using var accepted = await A.InvokeAsync(slow.Id(), "{}", configure: r => r.Headers.Add("NVCF-POLL-SECONDS", "1"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var requestId = accepted.Header("NVCF-REQID");
        await AssertNotFoundAsync(await B.GetAsync($"/v2/nvcf/pexec/status/{requestId}"), $"Request id '{requestId}' not found");
        await AssertNotFoundAsync(await B.GetAsync($"/v2/nvcf/exec/status/{requestId}"), $"Request id '{requestId}' not found");
        await AssertNotFoundAsync(await B.GetAsync($"/v2/nvcf/queues/{requestId}/position"), $"Request id '{requestId}' not found");
        Assert.Equal(0, (int)(await A.GetFromJsonAsync<JsonObject>($"/v2/nvcf/queues/{requestId}/position"))!["positionInQueue"]!);

        accounts.Containers.ReleaseSlow();
        using var result = await A.GetAsync($"/v2/nvcf/pexec/status/{requestId}");
        Assert.Equal(HttpStatusCode.OK, result.StatusCode);
        Assert.Equal("done", await result.Content.ReadAsStringAsync());
        await RemoveAsync(A, slow);
    }

    /// <summary>Undeploys and deletes a function version, so that the other tests' listings do not see it.</summary>
    private static async Task RemoveAsync(HttpClient owner, JsonObject function)
    {
        await owner.UndeployAsync(function);
        using var deleted = await owner.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    private static async Task AssertNotFoundAsync(HttpResponseMessage response, string detail)
    {
        using (response)
        {
            var problem = await response.ProblemAsync(HttpStatusCode.NotFound);
            Assert.Contains(detail, (string?)problem["detail"], StringComparison.Ordinal);
        }
    }

    private static async Task AssertStatusAsync(HttpResponseMessage response, HttpStatusCode status, string contains)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
            Assert.Contains(contains, text, StringComparison.Ordinal);
        }
    }

    /// <summary>The emulator of <see cref="TestAccounts"/> on a fake runtime.</summary>
    public sealed class TwoAccounts : IAsyncLifetime
    {
        private readonly FakeContainerServer _containers = new();

        public EmulatorFactory Factory { get; private set; } = null!;

        public FakeContainerServer Containers => _containers;

        public HttpClient A { get; private set; } = null!;

        public HttpClient B { get; private set; } = null!;

        public HttpClient Client(string key) => Factory.CreateNvcfClient(key);

        public Task InitializeAsync()
        {
            Factory = new EmulatorFactory(new FakeRuntime(_containers), TestAccounts.Settings("00:00:05"));
            A = Factory.CreateNvcfClient();
            B = Client(TestAccounts.BKey);
            return Task.CompletedTask;
        }

        public async Task DisposeAsync()
        {
            A.Dispose();
            B.Dispose();
            await Factory.DisposeAsync();
            await _containers.DisposeAsync();
        }
    }
}
