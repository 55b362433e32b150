using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Nvcf.FunctionTests;

/// <summary>
/// Tests of the echo function, invoked the way clients invoke it in the cloud: <c>POST /v2/nvcf/pexec/functions/{id}</c>
/// with a bearer token. Replace the bodies and assertions with your function's.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class EchoFunctionTests(AppHostFixture fixture)
{
    [Fact]
    public async Task TheFunctionAnswersAnInvocationWithItsResult()
    {
        var body = new JsonObject { ["prompt"] = "hello" };

        using var response = await InvokeAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fulfilled", response.Headers.GetValues("NVCF-STATUS").Single());
        Assert.True(JsonNode.DeepEquals(body, await response.Content.ReadFromJsonAsync<JsonNode>()));
    }

    [Fact]
    public async Task EveryInvocationGetsItsOwnRequestId()
    {
        using var first = await InvokeAsync(new JsonObject { ["n"] = 1 });
        using var second = await InvokeAsync(new JsonObject { ["n"] = 2 });

        Assert.NotEqual(first.Headers.GetValues("NVCF-REQID").Single(), second.Headers.GetValues("NVCF-REQID").Single());
    }

    /// <summary>Invokes the function through the emulator's pexec API, as a client of the cloud would.</summary>
    private async Task<HttpResponseMessage> InvokeAsync(JsonNode body)
    {
        // CreateHttpClient resolves the emulator's "http" endpoint (a random port under the testing builder).
        using var client = fixture.App.CreateHttpClient(AppHostFixture.EmulatorName);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{fixture.FunctionId}")
        {
            Content = JsonContent.Create(body),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "local"); // the emulator accepts any key
        request.Headers.Add("NVCF-POLL-SECONDS", "30"); // long enough that a slow answer is a 200, not a 202
        return await client.SendAsync(request);
    }
}
