using System.Net.Http.Json;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcEcho;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// gRPC invocation (docs/nvcf-contract.md#grpc-invocation) of the grpc-echo sample, through the emulator's gRPC
/// listener.
/// </summary>
[Collection(DockerCollection.Name)]
public class GrpcInvocationTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task CallsWithFunctionIdMetadataReachTheFunctionsOwnServiceUnaryAndStreaming()
    {
        var http = docker.Http;
        var function = await http.CreateFunctionAsync(new { name = "grpc-echo", inferenceUrl = "/grpc", inferencePort = 8001, containerImage = DockerFixture.GrpcImage });
        Assert.Equal("gRPC", (string?)function["health"]!["protocol"]);
        await http.DeployAsync(function);
        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var channel = GrpcChannel.ForAddress(docker.Factory.GrpcAddress);
        var client = new Echo.EchoClient(channel);
        var metadata = new Metadata
        {
            { "authorization", "Bearer " + EmulatorFactory.Token },
            { "function-id", function.Id().ToString() },
        };

        using var call = client.SayAsync(new EchoRequest { Message = "hello over gRPC" }, metadata);
        var reply = await call;
        Assert.Equal("hello over gRPC", reply.Message);
        Assert.Equal(function.VersionId().ToString(), reply.FunctionVersionId);
        Assert.True(Guid.TryParse((await call.ResponseHeadersAsync).GetValue("nvcf-reqid"), out _));

        using var stream = client.Repeat(new RepeatRequest { Message = "tick", Times = 3 }, metadata);
        var messages = new List<string>();
        await foreach (var item in stream.ResponseStream.ReadAllAsync())
        {
            messages.Add(item.Message);
        }

        Assert.Equal(["tick #1", "tick #2", "tick #3"], messages);

        // A rate limit set on the running version applies to gRPC calls at once: RESOURCE_EXHAUSTED past it.
        var rateLimitPath = $"/v2/nvcf/ratelimit/functions/{function.Id()}/versions/{function.VersionId()}";
        using (var limited = await http.PutAsJsonAsync(rateLimitPath, new { rateLimit = new { rateLimit = "2-M", syncCheck = true } }))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, limited.StatusCode);
        }

        Assert.Equal("one", (await client.SayAsync(new EchoRequest { Message = "one" }, metadata)).Message);
        Assert.Equal("two", (await client.SayAsync(new EchoRequest { Message = "two" }, metadata)).Message);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.SayAsync(new EchoRequest { Message = "three" }, metadata));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.StartsWith("exceeded rate limit", refused.Status.Detail, StringComparison.Ordinal);

        using (var removed = await http.DeleteAsync(rateLimitPath))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, removed.StatusCode);
        }

        Assert.Equal("four", (await client.SayAsync(new EchoRequest { Message = "four" }, metadata)).Message);
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task CallsWithoutAFunctionOrTokenFailWithTheMatchingGrpcStatus()
    {
        using var channel = GrpcChannel.ForAddress(docker.Factory.GrpcAddress);
        var client = new Echo.EchoClient(channel);

        var noToken = await Assert.ThrowsAsync<RpcException>(async () => await client.SayAsync(new EchoRequest(), new Metadata { { "function-id", Guid.NewGuid().ToString() } }));
        Assert.Equal(StatusCode.Unauthenticated, noToken.StatusCode);

        var auth = new Metadata { { "authorization", "Bearer " + EmulatorFactory.Token } };
        var noFunction = await Assert.ThrowsAsync<RpcException>(async () => await client.SayAsync(new EchoRequest(), auth));
        Assert.Equal(StatusCode.InvalidArgument, noFunction.StatusCode);

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await client.SayAsync(
            new EchoRequest(), new Metadata { { "authorization", "Bearer " + EmulatorFactory.Token }, { "function-id", Guid.NewGuid().ToString() } }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }
}
