using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Nvcf.Emulator.Routing;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Invocation (docs/nvcf-contract.md#invocation): pexec and its status, the envelope API (exec), HTTP invocation by
/// header or host name, and large-result downloads. Handlers only validate and map; <see cref="InvocationService"/>
/// does the work. Every answer carries <c>NVCF-REQID</c> and <c>NVCF-STATUS</c>.
/// </summary>
public static partial class InvocationApi
{
    /// <summary>What every invocation needs (docs/nvcf-contract.md#scopes).</summary>
    public static readonly IReadOnlyList<string> InvokeScopes = [Scopes.InvokeFunction];

    public static IEndpointRouteBuilder MapInvocationApi(this IEndpointRouteBuilder app)
    {
        var pexec = app.MapGroup("/v2/nvcf/pexec").WithTags("Invocation").RequireScope(Scopes.InvokeFunction);
        pexec.MapPost("/functions/{functionId}", (Guid functionId, HttpContext context, InvocationService invocations, AssetStore assets) =>
            Pexec(context, functionId, null, invocations, assets))
            .WithName("InvokeFunction").WithSummary("Invoke a function (any deployed version)");
        pexec.MapPost("/functions/{functionId}/versions/{versionId}", (Guid functionId, Guid versionId, HttpContext context, InvocationService invocations, AssetStore assets) =>
            Pexec(context, functionId, versionId, invocations, assets))
            .WithName("InvokeFunctionVersion").WithSummary("Invoke one version of a function");
        pexec.MapGet("/status/{requestId}", PexecStatus).WithName("GetInvocationStatus").WithSummary("Poll a pending invocation for its result");

        var exec = app.MapGroup("/v2/nvcf/exec").WithTags("Invocation").RequireScope(Scopes.InvokeFunction);
        exec.MapPost("/functions/{functionId}", (Guid functionId, EnvelopeRequest body, HttpContext context, InvocationService invocations, AssetStore assets) =>
            Exec(context, functionId, null, body, invocations, assets))
            .WithName("ExecFunction").WithSummary("Invoke a function through the envelope API (any deployed version)");
        exec.MapPost("/functions/{functionId}/versions/{versionId}", (Guid functionId, Guid versionId, EnvelopeRequest body, HttpContext context, InvocationService invocations, AssetStore assets) =>
            Exec(context, functionId, versionId, body, invocations, assets))
            .WithName("ExecFunctionVersion").WithSummary("Invoke one version of a function through the envelope API");
        exec.MapGet("/status/{requestId}", ExecStatus).WithName("GetExecStatus").WithSummary("Poll a pending envelope invocation for its result");

        app.MapGet(LargeResults.RoutePrefix + "/{requestId}.zip", (Guid requestId, HttpRequest request, LargeResults results) => results.Download(requestId, request))
            .WithTags("Invocation").WithName("DownloadLargeResult").WithSummary("Download a result too large to return inline (a zip)");
        return app;
    }

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

        if (error is not null || PollWindow.Parse(context.Request, out error, eventStreamDefault: false) is not { } pollSeconds)
        {
            await Errored(context, StatusCodes.Status400BadRequest, error!);
            return;
        }

        var invocations = context.RequestServices.GetRequiredService<InvocationService>();
        // As the caller sent it (still escaped): decoding would turn an escaped "?" or "/" into another path.
        var pathAndQuery = (context.Request.PathBase + context.Request.Path).ToUriComponent() + context.Request.QueryString.ToUriComponent();
        var request = new InvocationRequest(requestId, functionId, versionId, pollSeconds, Compatible: false, pathAndQuery);
        await RespondAsync(context, request, await invocations.InvokeAsync(context, request), invocations);
    });

    public static async Task<IResult> Pexec(HttpContext context, Guid functionId, Guid? versionId, InvocationService invocations, AssetStore assets)
    {
        var requestId = Guid.NewGuid();
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (PollWindow.Parse(context.Request, out var error) is not { } pollSeconds)
        {
            return Errored(StatusCodes.Status400BadRequest, error!, context);
        }

        if (AssetsApi.ParseReferences(context.Request.Headers[NvcfHeaders.InputAssetReferences], assets, out var assetProblem) is not { } assetIds)
        {
            context.Response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusErrored;
            return assetProblem!;
        }

        var compatible = !PollWindow.AcceptsEventStream(context.Request);
        var request = new InvocationRequest(requestId, functionId, versionId, pollSeconds, compatible, AssetIds: assetIds);
        await RespondAsync(context, request, await invocations.InvokeAsync(context, request), invocations);
        return Results.Empty;
    }

    public static async Task<IResult> PexecStatus(Guid requestId, HttpContext context, InvocationService invocations)
    {
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (PollWindow.Parse(context.Request, out var error) is not { } pollSeconds)
        {
            return Errored(StatusCodes.Status400BadRequest, error!, context);
        }

        var poll = await invocations.PollAsync(requestId, pollSeconds, context.RequestAborted);
        if (poll is null)
        {
            return Errored(StatusCodes.Status404NotFound, $"Request id '{requestId}' not found: it is unknown, its result was already delivered, or it expired.", context);
        }

        if (poll.Final is { } final)
        {
            await final.WriteAsync(context.Response, context.RequestAborted);
        }
        else
        {
            await InvocationService.WriteAcceptedAsync(context.Response, poll.Progress);
        }

        return Results.Empty;
    }

    /// <summary>
    /// The envelope API (docs/nvcf-contract.md#envelope-invocation): <c>requestBody</c> goes to the function as JSON;
    /// the answer comes back wrapped.
    /// </summary>
    public static async Task<IResult> Exec(HttpContext context, Guid functionId, Guid? versionId, EnvelopeRequest body, InvocationService invocations, AssetStore assets)
    {
        var requestId = Guid.NewGuid();
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (body.RequestBody is null)
        {
            return Errored(StatusCodes.Status400BadRequest, FunctionValidation.Field("invokeFunctionRequest", "requestBody", null, "must not be null"), context);
        }

        var pollSeconds = body.RequestHeader?.PollDurationSeconds switch
        {
            null => PollWindow.DefaultSeconds,
            > PollWindow.MaxSeconds => -1,
            var seconds => Math.Max(1, seconds.Value),
        };
        if (pollSeconds < 0)
        {
            return Errored(StatusCodes.Status400BadRequest, $"pollDurationSeconds must be <= {PollWindow.MaxSeconds}", context);
        }

        var references = (body.RequestHeader?.InputAssetReferences ?? []).Select(id => id.ToString());
        if (AssetsApi.ParseReferences(references, assets, out var assetProblem) is not { } assetIds)
        {
            context.Response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusErrored;
            return assetProblem!;
        }

        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body.RequestBody));
        content.Headers.ContentType = new("application/json");
        var outcome = await invocations.InvokeAsync(
            context, new InvocationRequest(requestId, functionId, versionId, pollSeconds, Compatible: true, Content: content, AssetIds: assetIds));
        return outcome switch
        {
            Answered answered => await EnvelopeAsync(requestId, answered, invocations, context),
            Accepted accepted => Envelope(requestId, null, accepted.Progress, context),
            // The cloud refuses over the limit before the envelope is made: problem details, as for pexec.
            Rejected { StatusCode: StatusCodes.Status429TooManyRequests } limited => limited.ToResult(context.Response),
            Rejected rejected => Envelope(requestId, rejected.ToFinal(), null, context),
            _ => throw new InvalidOperationException(),
        };
    }

    public static async Task<IResult> ExecStatus(Guid requestId, HttpContext context, InvocationService invocations)
    {
        context.Response.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        if (PollWindow.Parse(context.Request, out var error) is not { } pollSeconds)
        {
            return Errored(StatusCodes.Status400BadRequest, error!, context);
        }

        var poll = await invocations.PollAsync(requestId, pollSeconds, context.RequestAborted);
        return poll is null
            ? Errored(StatusCodes.Status404NotFound, $"Request id '{requestId}' not found: it is unknown, its result was already delivered, or it expired.", context)
            : Envelope(requestId, poll.Final, poll.Progress, context);
    }

    private static async Task RespondAsync(HttpContext context, InvocationRequest request, InvocationOutcome outcome, InvocationService invocations)
    {
        try
        {
            await invocations.RespondAsync(context, request, outcome);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away while the answer streamed.
        }
    }

    private static async Task<IResult> EnvelopeAsync(Guid requestId, Answered answered, InvocationService invocations, HttpContext context)
    {
        using (answered.Active)
        using (answered.Response)
        {
            return Envelope(requestId, await invocations.FinishAsync(answered.Response, answered.Active, context.RequestAborted), null, context);
        }
    }

    /// <summary><c>InvokeFunctionResponse</c>: the HTTP status mirrors the inner one, with 302 mapped to 200.</summary>
    private static IResult Envelope(Guid requestId, FinalResponse? final, ProgressReport? progress, HttpContext context)
    {
        var envelope = new JsonObject { ["reqId"] = requestId.ToString() };
        int status;
        if (final is null)
        {
            status = StatusCodes.Status202Accepted;
            envelope["status"] = NvcfHeaders.StatusInProgress;
            if (progress is not null)
            {
                envelope["percentComplete"] = progress.Percent;
                envelope["response"] = JsonNode.Parse(progress.PartialResponse);
            }
        }
        else if (final.StatusCode == StatusCodes.Status302Found)
        {
            status = StatusCodes.Status200OK;
            envelope["status"] = NvcfHeaders.StatusFulfilled;
            envelope["responseReference"] = $"{context.Request.Scheme}://{context.Request.Host}{final.Location}";
            envelope["percentComplete"] = 100;
        }
        else
        {
            status = final.StatusCode;
            envelope["status"] = NvcfHeaders.StatusFor(status);
            if (status < 400)
            {
                envelope["percentComplete"] = 100;
            }
            else
            {
                envelope["errorCode"] = status;
            }

            envelope["response"] = ParseOrString(final.Body);
        }

        context.Response.Headers[NvcfHeaders.Status] = (string?)envelope["status"];
        return Results.Text(envelope.ToJsonString(), "application/json", statusCode: status);
    }

    private static JsonNode? ParseOrString(byte[] body)
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return JsonValue.Create(System.Text.Encoding.UTF8.GetString(body));
        }
    }

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

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Errored(int status, string detail, HttpContext context)
    {
        context.Response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusErrored;
        return Problems.Create(status, detail);
    }

    private static Task Errored(HttpContext context, int status, string detail) => Errored(status, detail, context).ExecuteAsync(context);
}

/// <summary>Body of the envelope API: <c>{"requestHeader": {...}, "requestBody": any JSON}</c>.</summary>
public sealed record EnvelopeRequest(EnvelopeRequestHeader? RequestHeader, JsonNode? RequestBody);

public sealed record EnvelopeRequestHeader(List<Guid>? InputAssetReferences, int? PollDurationSeconds, List<JsonObject>? MeteringData);
