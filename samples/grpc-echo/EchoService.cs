using Grpc.Core;

namespace GrpcEcho;

/// <summary>Echoes messages back, naming the function version that answered.</summary>
public sealed class EchoService : Echo.EchoBase
{
    private static readonly string VersionId = Environment.GetEnvironmentVariable("NVCF_FUNCTION_VERSION_ID") ?? string.Empty;

    public override Task<EchoReply> Say(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Message = request.Message, FunctionVersionId = VersionId });

    public override async Task Repeat(RepeatRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < request.Times; i++)
        {
            await responseStream.WriteAsync(new EchoReply { Message = $"{request.Message} #{i + 1}", FunctionVersionId = VersionId }, context.CancellationToken);
        }
    }
}
