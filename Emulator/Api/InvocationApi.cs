using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Routing;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Invocation (docs/nvcf-contract.md#invocation): pexec and its status, the envelope API (exec), HTTP invocation by
/// header or host name, and large-result downloads. Handlers only validate and map; <see cref="InvocationService"/>
/// does the work and <see cref="InvocationAnswers"/> writes what it comes to. Every answer carries <c>NVCF-REQID</c>
/// and <c>NVCF-STATUS</c>.
/// </summary>
public static partial class InvocationApi
{
    /// <summary>What every invocation needs (docs/nvcf-contract.md#scopes).</summary>
    public static readonly IReadOnlyList<string> InvokeScopes = [Scopes.InvokeFunction];

    public static IEndpointRouteBuilder MapInvocationApi(this IEndpointRouteBuilder app)
    {
        var pexec = app.MapGroup("/v2/nvcf/pexec").WithTags("Invocation").RequireScope(Scopes.InvokeFunction);
        pexec.MapPost("/functions/{functionId}", Pexec).WithName("InvokeFunction").WithSummary("Invoke a function (any deployed version)");
        pexec.MapPost("/functions/{functionId}/versions/{versionId}", PexecVersion)
            .WithName("InvokeFunctionVersion").WithSummary("Invoke one version of a function");
        pexec.MapGet("/status/{requestId}", PexecStatus).WithName("GetInvocationStatus").WithSummary("Poll a pending invocation for its result");

        var exec = app.MapGroup("/v2/nvcf/exec").WithTags("Invocation").RequireScope(Scopes.InvokeFunction);
        exec.MapPost("/functions/{functionId}", Exec)
            .WithName("ExecFunction").WithSummary("Invoke a function through the envelope API (any deployed version)");
        exec.MapPost("/functions/{functionId}/versions/{versionId}", ExecVersion)
            .WithName("ExecFunctionVersion").WithSummary("Invoke one version of a function through the envelope API");
        exec.MapGet("/status/{requestId}", ExecStatus).WithName("GetExecStatus").WithSummary("Poll a pending envelope invocation for its result");

        app.MapGet(LargeResults.RoutePrefix + "/{requestId}.zip", DownloadLargeResult)
            .WithTags("Invocation").WithName("DownloadLargeResult").WithSummary("Download a result too large to return inline (a zip)");
        return app;
    }

    /// <summary>What the invocation handlers take: the request, the service that does the work and the answers' writer.</summary>
    public readonly record struct Services(HttpContext Context, InvocationService Invocations, InvocationAnswers Answers, AssetStore Assets);

    /// <summary>
    /// HTTP invocation (docs/nvcf-contract.md#http-invocation): a request with a <c>function-id</c> header (and
    /// optionally <c>function-version-id</c>), or to a host <c>{functionId}.invocation.*</c> /
    /// <c>{versionId}.{functionId}.invocation.*</c>, goes to the function with its method, path, query and body, and
    /// its answer comes back as it is.
    /// </summary>
    public static IApplicationBuilder UseHttpInvocation(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (!TryGetHttpInvocationTarget(context.Request, out var functionId, out var versionId, out var error))
        {
            await next(context);
            return;
        }

        var requestId = Guid.NewGuid();
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (ApiMiddleware.CheckBearer(context) is { } unauthorized)
        {
            await Problems.Unauthorized(unauthorized).ExecuteAsync(context);
            return;
        }

        if (ApiMiddleware.CheckScope(context, InvokeScopes) is { } forbidden)
        {
            await forbidden.ExecuteAsync(context);
            return;
        }

        var answers = context.RequestServices.GetRequiredService<InvocationAnswers>();
        if (error is not null || PollWindow.Parse(context.Request, out error, eventStreamDefault: false) is not { } pollSeconds)
        {
            await answers.WriteAsync(context, BadRequest(error!));
            return;
        }

        var invocations = context.RequestServices.GetRequiredService<InvocationService>();
        // As the caller sent it (still escaped): decoding would turn an escaped "?" or "/" into another path.
        var pathAndQuery = (context.Request.PathBase + context.Request.Path).ToUriComponent() + context.Request.QueryString.ToUriComponent();
        var request = new InvocationRequest(requestId, functionId, versionId, Caller.Of(context).NcaId, pollSeconds, Compatible: false, pathAndQuery);
        await answers.WriteAsync(context, request, await invocations.InvokeAsync(context, request));
    });

    public static Task Pexec(Guid functionId, [AsParameters] Services s) => PexecAsync(functionId, null, s);

    public static Task PexecVersion(Guid functionId, Guid versionId, [AsParameters] Services s) => PexecAsync(functionId, versionId, s);

    public static async Task PexecStatus(Guid requestId, [AsParameters] Services s)
    {
        if (await PollAsync(requestId, s) is { } poll)
        {
            await s.Answers.WritePollAsync(s.Context, poll);
        }
    }

    public static Task Exec(Guid functionId, EnvelopeRequest body, [AsParameters] Services s) => ExecAsync(functionId, null, body, s);

    public static Task ExecVersion(Guid functionId, Guid versionId, EnvelopeRequest body, [AsParameters] Services s) => ExecAsync(functionId, versionId, body, s);

    public static async Task ExecStatus(Guid requestId, [AsParameters] Services s)
    {
        if (await PollAsync(requestId, s) is { } poll)
        {
            await s.Answers.WriteEnvelopePollAsync(s.Context, requestId, poll);
        }
    }

    /// <summary>The zip of a large result, for a request whose URL is the signed one and has not expired (403 otherwise).</summary>
    public static Results<PhysicalFileHttpResult, ProblemHttpResult> DownloadLargeResult(Guid requestId, HttpRequest request, LargeResults results, PresignedUrls urls)
    {
        if (urls.Check(request) is { } refused)
        {
            return refused;
        }

        return results.Find(requestId) is { } path
            ? TypedResults.PhysicalFile(path, "application/zip", requestId + ".zip")
            : Problems.NotFound($"Result '{requestId}' does not exist or has expired.");
    }

    private static async Task PexecAsync(Guid functionId, Guid? versionId, Services s)
    {
        var context = s.Context;
        var requestId = Guid.NewGuid();
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (PollWindow.Parse(context.Request, out var error) is not { } pollSeconds)
        {
            await s.Answers.WriteAsync(context, BadRequest(error!));
            return;
        }

        if (AssetsApi.ParseReferences(context.Request.Headers[NvcfHeaders.InputAssetReferences], s.Assets, Caller.Of(context).NcaId, out var assetProblem) is not { } assetIds)
        {
            await s.Answers.WriteAsync(context, assetProblem!);
            return;
        }

        var compatible = !PollWindow.AcceptsEventStream(context.Request);
        var request = new InvocationRequest(requestId, functionId, versionId, Caller.Of(s.Context).NcaId, pollSeconds, compatible, AssetIds: assetIds);
        await s.Answers.WriteAsync(context, request, await s.Invocations.InvokeAsync(context, request));
    }

    /// <summary>
    /// The envelope API (docs/nvcf-contract.md#envelope-invocation): <c>requestBody</c> goes to the function as JSON;
    /// the answer comes back wrapped.
    /// </summary>
    private static async Task ExecAsync(Guid functionId, Guid? versionId, EnvelopeRequest body, Services s)
    {
        var context = s.Context;
        var requestId = Guid.NewGuid();
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (body.RequestBody is null)
        {
            await s.Answers.WriteAsync(context, BadRequest(FunctionValidation.Field("invokeFunctionRequest", "requestBody", null, "must not be null")));
            return;
        }

        var pollSeconds = body.RequestHeader?.PollDurationSeconds switch
        {
            null => PollWindow.DefaultSeconds,
            > PollWindow.MaxSeconds => -1,
            var seconds => Math.Max(1, seconds.Value),
        };
        if (pollSeconds < 0)
        {
            await s.Answers.WriteAsync(context, BadRequest($"pollDurationSeconds must be <= {PollWindow.MaxSeconds}"));
            return;
        }

        var references = (body.RequestHeader?.InputAssetReferences ?? []).Select(id => id.ToString());
        if (AssetsApi.ParseReferences(references, s.Assets, Caller.Of(context).NcaId, out var assetProblem) is not { } assetIds)
        {
            await s.Answers.WriteAsync(context, assetProblem!);
            return;
        }

        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body.RequestBody, NvcfJsonContext.Default.JsonNode));
        content.Headers.ContentType = new("application/json");
        var outcome = await s.Invocations.InvokeAsync(
            context, new InvocationRequest(requestId, functionId, versionId, Caller.Of(s.Context).NcaId, pollSeconds, Compatible: true, Content: content, AssetIds: assetIds));
        await s.Answers.WriteEnvelopeAsync(context, requestId, outcome);
    }

    /// <summary>One status poll of pexec or exec; null when the answer (a 400 or a 404) has been written already.</summary>
    private static async Task<PollResult?> PollAsync(Guid requestId, Services s)
    {
        var context = s.Context;
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (PollWindow.Parse(context.Request, out var error) is not { } pollSeconds)
        {
            await s.Answers.WriteAsync(context, BadRequest(error!));
            return null;
        }

        if (await s.Invocations.PollAsync(requestId, Caller.Of(context).NcaId, pollSeconds, context.RequestAborted) is not { } poll)
        {
            await s.Answers.WriteAsync(context, new Rejected(
                StatusCodes.Status404NotFound, $"Request id '{requestId}' not found: it is unknown, its result was already delivered, or it expired."));
            return null;
        }

        return poll;
    }

    private static Rejected BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail);

    private static bool TryGetHttpInvocationTarget(HttpRequest request, out Guid functionId, out Guid? versionId, out string? error)
    {
        functionId = Guid.Empty;
        versionId = null;
        error = null;
        var functionHeader = request.Headers["function-id"];
        if (functionHeader.Count > 0)
        {
            if (!Guid.TryParse(functionHeader.ToString(), out functionId))
            {
                error = $"Invalid function-id header '{functionHeader}': expected a UUID";
                return true;
            }

            var versionHeader = request.Headers["function-version-id"];
            if (versionHeader.Count > 0)
            {
                if (!Guid.TryParse(versionHeader.ToString(), out var version))
                {
                    error = $"Invalid function-version-id header '{versionHeader}': expected a UUID";
                    return true;
                }

                versionId = version;
            }

            return true;
        }

        var host = InvocationHost().Match(request.Host.Host);
        if (!host.Success)
        {
            return false;
        }

        functionId = Guid.Parse(host.Groups["function"].Value);
        versionId = host.Groups["version"].Success ? Guid.Parse(host.Groups["version"].Value) : null;
        return true;
    }

    /// <summary><c>{functionId}.invocation.*</c> or <c>{versionId}.{functionId}.invocation.*</c>: the version comes first.</summary>
    [GeneratedRegex(@"^(?:(?<version>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.)?(?<function>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.invocation\.")]
    private static partial Regex InvocationHost();
}
