using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcEcho;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// A second account's key before, while and after a function of the first is shared with it, on the real engine
/// (docs/nvcf-contract.md#function-sharing, docs/nvcf-contract.md#scopes).
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class SharingOnTheEngineTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private EmulatorFactory _factory = null!;
    private HttpClient _a = null!;
    private HttpClient _b = null!;

    public Task InitializeAsync()
    {
        _factory = new EmulatorFactory(settings: TestAccounts.Settings("00:01:00"));
        _a = _factory.CreateNvcfClient();
        _b = Client(TestAccounts.BKey);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _a.Dispose();
        _b.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task AnotherAccountReachesTheContainerOnlyWhileTheFunctionIsSharedWithIt()
    {
        var function = await _a.CreateFunctionAsync(new
        {
            name = "shared-on-engine",
            inferenceUrl = "/cgi-bin/env",
            containerImage = DockerFixture.CgiImage,
            containerEnvironment = new[] { new { key = "OWNER_ONLY", value = "yes" } },
        });
        await _a.DeployAsync(function);
        await _a.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var sharing = $"/v2/nvcf/authorizations/functions/{function.Id()}";
        var notFound = $"Function id '{function.Id()}' version 'any': Specified function in account 'nca-b' is not found";

        // Before: B lists nothing and its invocation is the cloud's 404 in B's account.
        Assert.Empty(await _b.ListFunctionsAsync());
        await AssertRefusedAsync(await _b.InvokeAsync(function.Id(), "{}"), HttpStatusCode.NotFound, notFound);

        // Shared: B lists it as another account's, stripped, and its pexec reaches the container as B.
        using (var shared = await _a.PostAsJsonAsync(sharing, new { authorizedParties = new[] { new { ncaId = "nca-b" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
        }

        var listed = Assert.Single(await _b.ListFunctionsAsync("?visibility=authorized"));
        Assert.Equal(function.Id().ToString(), (string?)listed["id"]);
        Assert.True((bool)listed["ownedByDifferentAccount"]!);
        Assert.Null(listed["containerImage"]);
        Assert.Null(listed["containerEnvironment"]);
        Assert.Null(listed["inferenceUrl"]);

        using (var invoked = await _b.InvokeAsync(function.Id(), "{}"))
        {
            var environment = await invoked.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
            Assert.Contains("HTTP_NVCF_NCAID=nca-b\n", environment, StringComparison.Ordinal);
            Assert.Contains("OWNER_ONLY=yes\n", environment, StringComparison.Ordinal);
        }

        // HTTP invocation (function-id header) follows the same rule.
        using (var viaHeader = await _b.SendAsync(HeaderInvocation(function.Id())))
        {
            Assert.Equal(HttpStatusCode.OK, viaHeader.StatusCode);
        }

        // A key of a third account without invoke_function: 403; an unknown key: 401.
        using (var listOnly = Client(TestAccounts.ReaderKey))
        {
            await AssertRefusedAsync(await listOnly.InvokeAsync(function.Id(), "{}"), HttpStatusCode.Forbidden, "Access Denied");
        }

        using (var stranger = Client("no-such-key"))
        {
            await AssertRefusedAsync(await stranger.InvokeAsync(function.Id(), "{}"), HttpStatusCode.Unauthorized, "Unauthorized access");
        }

        // After the party is removed: refused again, at once.
        using (var removed = await _a.PatchAsJsonAsync(sharing + "/remove", new { authorizedParty = new { ncaId = "nca-b" } }))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        Assert.Empty(await _b.ListFunctionsAsync());
        await AssertRefusedAsync(await _b.InvokeAsync(function.Id(), "{}"), HttpStatusCode.NotFound, notFound);
        using (var viaHeader = await _b.SendAsync(HeaderInvocation(function.Id())))
        {
            Assert.Equal(HttpStatusCode.NotFound, viaHeader.StatusCode);
        }

        // The owner is served throughout.
        using (var own = await _a.InvokeAsync(function.Id(), "{}"))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            Assert.Contains("HTTP_NVCF_NCAID=nca-a\n", await own.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await _a.UndeployAsync(function);
    }

    [Fact]
    public async Task GrpcCallsFollowTheSameRuleAsHttp()
    {
        var function = await _a.CreateFunctionAsync(new { name = "grpc-shared", inferenceUrl = "/grpc", inferencePort = 8001, containerImage = DockerFixture.GrpcImage });
        await _a.DeployAsync(function);
        await _a.WaitForStatusAsync(function, Timeout, "ACTIVE");
        using var channel = GrpcChannel.ForAddress(_factory.GrpcAddress);
        var client = new Echo.EchoClient(channel);
        Metadata As(string key) => new() { { "authorization", "Bearer " + key }, { "function-id", function.Id().ToString() } };

        var before = await Assert.ThrowsAsync<RpcException>(async () => await client.SayAsync(new EchoRequest { Message = "b" }, As(TestAccounts.BKey)));
        Assert.Equal(StatusCode.NotFound, before.StatusCode);
        Assert.Contains("Specified function in account 'nca-b' is not found", before.Status.Detail, StringComparison.Ordinal);

        var listOnly = await Assert.ThrowsAsync<RpcException>(async () => await client.SayAsync(new EchoRequest { Message = "c" }, As(TestAccounts.ReaderKey)));
        Assert.Equal(StatusCode.PermissionDenied, listOnly.StatusCode);

        using (var shared = await _a.PostAsJsonAsync($"/v2/nvcf/authorizations/functions/{function.Id()}/versions/{function.VersionId()}", new { authorizedParties = new[] { new { ncaId = "nca-b" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
        }

        Assert.Equal("as b", (await client.SayAsync(new EchoRequest { Message = "as b" }, As(TestAccounts.BKey))).Message);

        using (var unshared = await _a.DeleteAsync($"/v2/nvcf/authorizations/functions/{function.Id()}/versions/{function.VersionId()}"))
        {
            Assert.Equal(HttpStatusCode.OK, unshared.StatusCode);
        }

        var after = await Assert.ThrowsAsync<RpcException>(async () => await client.SayAsync(new EchoRequest { Message = "b" }, As(TestAccounts.BKey)));
        Assert.Equal(StatusCode.NotFound, after.StatusCode);
        await _a.UndeployAsync(function);
    }

    private HttpClient Client(string key) => _factory.CreateNvcfClient(key);

    private static HttpRequestMessage HeaderInvocation(Guid functionId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/cgi-bin/env") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Add("function-id", functionId.ToString());
        return request;
    }


    private static async Task AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        using (response)
        {
            var problem = await response.ProblemAsync(status);
            Assert.Equal(detail, (string?)problem["detail"]);
        }
    }
}
