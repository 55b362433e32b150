using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// One invocation from request to answer (docs/nvcf-contract.md#version-selection,
/// docs/nvcf-contract.md#waiting-and-polling, docs/nvcf-contract.md#large-responses,
/// docs/nvcf-contract.md#progress-reporting, docs/nvcf-contract.md#response-handling): choose the version, take an
/// instance slot within the poll window (else 504), forward, then either relay the answer as it streams or, when the
/// window ends first, answer 202 and keep the work going for <c>/status</c>. In compatibility mode (pexec and exec
/// without <c>Accept: text/event-stream</c>) container errors become problem details, large answers a 302, and progress
/// reports 202s; HTTP invocation and event streams are relayed as they are.
/// </summary>
public sealed class InvocationService(
    FunctionRouter router,
    InvocationForwarder forwarder,
    PendingInvocations pending,
    LargeResults largeResults,
    State.AssetStore assets,
    EmulatorTelemetry telemetry,
    IOptions<EmulatorOptions> options,
    ILogger<InvocationService> logger)
{
    private const string Subject = "local-user";
    private const int MaxErrorBodyBytes = 1024 * 1024;
    private static readonly TimeSpan ProgressCheckInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Routes, takes a slot, forwards and waits for the answer within the poll window. From the moment a slot is
    /// taken, the invocation owns it: every way out of here either hands it on with the outcome (an answer to relay,
    /// a 202 whose work goes on) or gives it back.
    /// </summary>
    public async Task<InvocationOutcome> InvokeAsync(HttpContext context, InvocationRequest request)
    {
        if (LimitBody(context, request) is { } tooLarge)
        {
            return tooLarge;
        }

        var ncaId = Api.Caller.Of(context).NcaId;
        var selection = router.Select(request.FunctionId, request.VersionId, ncaId);
        if (selection.Route is not { } route)
        {
            return NotInvocable(request, selection.Failure, ncaId);
        }

        // The chosen version's limit, as the cloud checks it: after the version is picked, before a slot is taken.
        if (route.RateLimiter is { } limiter && !limiter.TryAdmit(context.Request.Headers.Authorization.ToString(), ncaId, out var refusal))
        {
            return RateLimited(route, refusal);
        }

        var deadline = DateTime.UtcNow.AddSeconds(request.PollSeconds);
        var (lease, refused) = await TakeSlotAsync(route, request, deadline, context.RequestAborted);
        if (lease is null)
        {
            return refused!;
        }

        ActiveInvocation active;
        Task<HttpResponseMessage> sending;
        try
        {
            (active, sending) = Forward(context, request, route, lease, deadline);
        }
        catch (UriFormatException e)
        {
            lease.Dispose();
            return new Rejected(StatusCodes.Status400BadRequest, $"Invalid request path: {e.Message}");
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        try
        {
            return await AwaitAnswerAsync(context, active, sending, deadline);
        }
        catch
        {
            active.Dispose();
            throw;
        }
    }

    /// <summary>A declared body over the limit is refused before it takes a slot; an undeclared one when it crosses it.</summary>
    private Rejected? LimitBody(HttpContext context, InvocationRequest request)
    {
        var limit = request.Grpc ? (long?)null : options.Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            return BodyTooLarge(limit.Value);
        }

        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        return null;
    }

    private static Rejected NotInvocable(InvocationRequest request, RouteFailure failure, string ncaId) => failure == RouteFailure.Degraded
        ? new Rejected(StatusCodes.Status400BadRequest, $"Function id '{request.FunctionId}': DEGRADED function cannot be invoked")
        : new Rejected(StatusCodes.Status404NotFound, $"Function id '{request.FunctionId}' version '{request.VersionId?.ToString() ?? "any"}': Specified function in account '{ncaId}' is not found");

    /// <summary>429 (docs/nvcf-contract.md#rate-limits), with <c>Retry-After</c>: when the refusing window ends.</summary>
    private Rejected RateLimited(VersionRoute route, RateRefusal refusal)
    {
        var version = route.Version;
        logger.RateLimited(version.Name, version.VersionId, refusal.Rate, refusal.RetryAfterSeconds);
        return new Rejected(
            StatusCodes.Status429TooManyRequests,
            $"exceeded rate limit: function id '{version.Id}' version '{version.VersionId}' allows {refusal.Rate}{(refusal.PerCaller ? " per caller" : string.Empty)}; retry after {refusal.RetryAfterSeconds} s",
            RetryAfterSeconds: refusal.RetryAfterSeconds);
    }

    /// <summary>A free slot at once, else the first one that frees up before the window (and the pick-up grace) ends.</summary>
    private static async Task<(InstanceLease? Lease, Rejected? Refused)> TakeSlotAsync(
        VersionRoute route, InvocationRequest request, DateTime deadline, CancellationToken aborted)
    {
        try
        {
            if (route.Pool.TryAcquire(out var lease))
            {
                return (lease, null);
            }

            using var waiting = EmulatorTelemetry.StartSlotWait(route, request.RequestId);
            return (await WaitForSlotAsync(route.Pool, request.RequestId, deadline + PollWindow.PickUpGrace, aborted), null);
        }
        catch (InstancePoolClosedException e)
        {
            return (null, new Rejected(StatusCodes.Status404NotFound, e.Message));
        }
        catch (TimeoutException)
        {
            return (null, new Rejected(
                StatusCodes.Status504GatewayTimeout,
                $"No instance of function id '{request.FunctionId}' picked up the request within {request.PollSeconds} s. Increase NVCF-POLL-SECONDS, maxInstances or maxRequestConcurrency."));
        }
        catch (OperationCanceledException)
        {
            return (null, ClientClosed);
        }
    }

    /// <summary>Prepares the request's folders and starts sending it to the leased instance.</summary>
    private (ActiveInvocation Active, Task<HttpResponseMessage> Sending) Forward(
        HttpContext context, InvocationRequest request, VersionRoute route, InstanceLease lease, DateTime deadline)
    {
        var address = lease.Target.AddressOf(request.PathAndQuery ?? route.Version.InferencePath);
        var folders = lease.Target.Folders.ForRequest(request.RequestId);
        var body = request.Content is null ? StreamingRequestContent.ForCaller(context) : null;
        var work = new CancellationTokenSource();
        var abortRegistration = context.RequestAborted.Register(static state => ((CancellationTokenSource)state!).Cancel(), work);
        var forwarding = EmulatorTelemetry.StartForward(route, request.RequestId, lease.Target.InstanceId);
        var active = new ActiveInvocation(request, route, lease, folders, body, work, abortRegistration, forwarding);
        try
        {
            foreach (var assetId in request.AssetIds ?? [])
            {
                assets.CopyTo(assetId, folders.InputAssets);
            }

            var invocation = new Invocation(
                request.RequestId, route.Version, address, Subject, Api.Caller.Of(context).NcaId, deadline, (HttpContent?)body ?? request.Content, CallersBody: body is not null, request.AssetIds, request.Grpc);
            return (active, forwarder.SendAsync(context, invocation, lease.Target, work.Token));
        }
        catch
        {
            active.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the answer until the window ends (or, in compatibility mode, progress is reported). An answer in time
    /// is handed back to be relayed; otherwise, in compatibility mode, the invocation takes the rest of the caller's
    /// body and answers 202 while the work goes on, and elsewhere it gives up with 504.
    /// </summary>
    private async Task<InvocationOutcome> AwaitAnswerAsync(HttpContext context, ActiveInvocation active, Task<HttpResponseMessage> sending, DateTime deadline)
    {
        var request = active.Request;
        var progress = await AwaitWindowAsync(active, sending, deadline);
        if (!sending.IsCompleted && request.Compatible && active.Body is { } body)
        {
            // The caller's exchange is about to end: its body must be the invocation's own first.
            try
            {
                await body.TakeOverAsync(context.RequestAborted);
            }
            catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
            {
                active.Dispose();
                return BodyNotRead(e);
            }
        }

        if (sending.IsCompleted)
        {
            try
            {
                return new Answered(await sending, active);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                active.Dispose();
                if (CallersBodyFailure(e) is { } bad)
                {
                    return BodyNotRead(bad);
                }

                if (e is HttpRequestException)
                {
                    logger.InstanceUnreachable(request.RequestId, active.Lease.Target.InstanceId, e.Message);
                    return InferenceConnectionError;
                }

                return ClientClosed;
            }
        }

        if (!request.Compatible)
        {
            // No generated 202 outside compatibility mode: the platform gives up as when no worker answers.
            active.Dispose();
            return new Rejected(StatusCodes.Status504GatewayTimeout, $"The function did not answer within {request.PollSeconds} s.");
        }

        // The window is over (or progress came first): the caller gets 202, the work goes on.
        active.DetachFromCaller();
        var record = new PendingInvocation(request.RequestId, active.Route.Version, request.PollSeconds, active.Folders, active.Work);
        if (progress is not null)
        {
            record.ProgressDelivered = progress.WrittenAt;
        }

        record.Result = CompleteInBackgroundAsync(sending, active);
        pending.Add(record);
        return new Accepted(record, progress);
    }

    /// <summary>Waits until the answer comes or the window ends; in compatibility mode, a progress report ends the wait too.</summary>
    private static async Task<ProgressReport?> AwaitWindowAsync(ActiveInvocation active, Task sending, DateTime deadline)
    {
        var request = active.Request;
        while (!sending.IsCompleted)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return null;
            }

            await WhenCompletedOrAfter(sending, request.Compatible && remaining > ProgressCheckInterval ? ProgressCheckInterval : remaining, CancellationToken.None);
            if (request.Compatible && !sending.IsCompleted && ProgressReport.Read(active.Folders.ProgressPath, request.RequestId) is { } report)
            {
                return report;
            }
        }

        return null;
    }

    /// <summary>What to answer when the caller's body could not be read to its end.</summary>
    private Rejected BodyNotRead(Exception e) => e switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => BodyTooLarge(options.Value.MaxRequestBodyBytes),
        BadHttpRequestException bad => new Rejected(bad.StatusCode, $"Failed to read the request body: {bad.Message}"),
        _ => ClientClosed,
    };

    /// <summary>The failure to read the caller's body behind a failed send, if that is what it was.</summary>
    private static BadHttpRequestException? CallersBodyFailure(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is BadHttpRequestException bad)
            {
                return bad;
            }
        }

        return null;
    }

    private static Rejected BodyTooLarge(long limit) => new(
        StatusCodes.Status413PayloadTooLarge,
        $"The request body is larger than {limit} bytes (Emulator:MaxRequestBodyBytes). Send large inputs as assets (NVCF-INPUT-ASSET-REFERENCES).");

    private static Rejected ClientClosed => new(StatusCodes.Status499ClientClosedRequest, "The client closed the request.");

    /// <summary>Writes an outcome to the caller of pexec or an HTTP invocation.</summary>
    public async Task RespondAsync(HttpContext context, InvocationRequest request, InvocationOutcome outcome)
    {
        try
        {
            await WriteAsync(context, outcome);
        }
        finally
        {
            telemetry.RecordInvocation(
                (outcome as Answered)?.Active.Route.Version ?? (outcome as Accepted)?.Pending.Version,
                context.Response.StatusCode,
                System.Diagnostics.Stopwatch.GetElapsedTime(request.ArrivedAt));
        }
    }

    private async Task WriteAsync(HttpContext context, InvocationOutcome outcome)
    {
        switch (outcome)
        {
            case Answered answered:
                using (answered.Active)
                using (answered.Response)
                {
                    var response = answered.Response;
                    var request = answered.Active.Request;
                    if (request.Compatible && ((int)response.StatusCode >= 400 || LargeResults.IsLarge(response.Content.Headers.ContentLength, answered.Active.Folders)))
                    {
                        var final = await FinishAsync(response, answered.Active, context.RequestAborted);
                        await final.WriteAsync(context.Response, context.RequestAborted);
                    }
                    else if (request.Compatible && response.Content.Headers.ContentLength is null)
                    {
                        await RelayOrStoreAsync(context, response, answered.Active);
                    }
                    else
                    {
                        await InvocationForwarder.RelayResponseAsync(context, response, request.RequestId, context.RequestAborted);
                    }
                }

                break;

            case Accepted accepted:
                await WriteAcceptedAsync(context.Response, accepted.Progress);
                break;

            case Rejected rejected:
                await rejected.ToResult(context.Response).ExecuteAsync(context);
                break;
        }
    }

    /// <summary>
    /// A compatibility-mode answer of unknown length (docs/nvcf-contract.md#large-responses): its size is known only once
    /// read, so at most 5 MiB (plus one read) is held. An answer that ends within it is relayed as it is; one that goes
    /// past it becomes a large result, what was held and the rest streamed into the zip.
    /// </summary>
    private async Task RelayOrStoreAsync(HttpContext context, HttpResponseMessage response, ActiveInvocation active)
    {
        var aborted = context.RequestAborted;
        await using var stream = await response.Content.ReadAsStreamAsync(aborted);
        using var head = await BodyHead.ReadAsync(stream, NvcfHeaders.MaxDirectResponseSizeBytes, aborted);
        if (head.Complete)
        {
            await InvocationForwarder.RelayResponseAsync(context, response, active.Request.RequestId, head.Bytes, aborted);
            return;
        }

        var location = await largeResults.StoreAsync(active.Request.RequestId, head.Bytes, stream, active.Folders, aborted);
        await FinalResponse.Redirect(location).WriteAsync(context.Response, aborted);
    }

    /// <summary>
    /// <c>GET /pexec/status/{requestId}</c>: waits up to the poll window for the final answer (then forgets the
    /// request) or a new progress report; else 202 again. Null when the request is unknown or expired.
    /// </summary>
    public async Task<PollResult?> PollAsync(Guid requestId, int pollSeconds, CancellationToken aborted)
    {
        if (pending.Find(requestId) is not { } record)
        {
            return null;
        }

        var deadline = DateTime.UtcNow.AddSeconds(pollSeconds);
        while (!record.Result.IsCompleted)
        {
            if (record.NewProgress() is { } progress)
            {
                record.ProgressDelivered = progress.WrittenAt;
                return new PollResult(record, null, progress);
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return new PollResult(record, null, null);
            }

            await WhenCompletedOrAfter(record.Result, remaining < ProgressCheckInterval ? remaining : ProgressCheckInterval, aborted);
            aborted.ThrowIfCancellationRequested();
        }

        pending.Complete(record);
        return new PollResult(record, await record.Result, null);
    }

    /// <summary>Reads an answer to the end, applying compatibility mode: problem details for errors, 302 for large results.</summary>
    public async Task<FinalResponse> FinishAsync(HttpResponseMessage response, ActiveInvocation active, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var compatible = active.Request.Compatible;
        if (compatible && status >= 400)
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new MemoryStream();
            await CopyAtMostAsync(stream, buffer, MaxErrorBodyBytes, cancellationToken);
            return FinalResponse.InferenceError(status, buffer.ToArray());
        }

        if (compatible && LargeResults.IsLarge(response.Content.Headers.ContentLength, active.Folders))
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return FinalResponse.Redirect(await largeResults.StoreAsync(active.Request.RequestId, stream, active.Folders, cancellationToken));
        }

        if (compatible && response.Content.Headers.ContentLength is null)
        {
            // Unknown length: hold at most 5 MiB (plus one read); past that, the rest goes straight into the zip.
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var head = await BodyHead.ReadAsync(stream, NvcfHeaders.MaxDirectResponseSizeBytes, cancellationToken);
            return head.Complete
                ? FinalResponse.From(response, head.Bytes.ToArray())
                : FinalResponse.Redirect(await largeResults.StoreAsync(active.Request.RequestId, head.Bytes, stream, active.Folders, cancellationToken));
        }

        return await FinalResponse.ReadAsync(response, cancellationToken);
    }

    public static Task WriteAcceptedAsync(HttpResponse response, ProgressReport? progress)
    {
        if (progress is not null)
        {
            return progress.WriteAsync(response, response.HttpContext.RequestAborted);
        }

        response.StatusCode = StatusCodes.Status202Accepted;
        response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusInProgress;
        response.ContentLength = 0;
        return Task.CompletedTask;
    }

    private static Rejected InferenceConnectionError => new(
        StatusCodes.Status500InternalServerError,
        "Inference connection error while making inference request",
        "urn:inference-connection:problem-details:internal-server-error");

    private async Task<FinalResponse> CompleteInBackgroundAsync(Task<HttpResponseMessage> sending, ActiveInvocation active)
    {
        using (active)
        {
            try
            {
                using var response = await sending;
                return await FinishAsync(response, active, active.Cancellation);
            }
            catch (HttpRequestException e)
            {
                logger.InstanceUnreachable(active.Request.RequestId, active.Lease.Target.InstanceId, e.Message);
                return InferenceConnectionError.ToFinal();
            }
            catch (OperationCanceledException)
            {
                return new Rejected(StatusCodes.Status500InternalServerError, "The request was cancelled: its result was not polled for.").ToFinal();
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="task"/> completes, <paramref name="interval"/> passes or <paramref name="cancellationToken"/>
    /// fires, whichever is first, and never throws: the caller looks at the task afterwards. Unlike a <c>Task.Delay</c>
    /// raced against the task, the timer is dropped as soon as the task completes instead of staying queued for the
    /// whole interval, which matters as every invocation waits like this.
    /// </summary>
    private static ConfiguredTaskAwaitable WhenCompletedOrAfter(Task task, TimeSpan interval, CancellationToken cancellationToken) =>
        task.WaitAsync(interval, cancellationToken)
            .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);

    private static async Task CopyAtMostAsync(Stream source, Stream target, int limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while (target.Length < limit && (read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await target.WriteAsync(buffer.AsMemory(0, Math.Min(read, limit - (int)target.Length)), cancellationToken);
        }
    }

    private static async Task<InstanceLease> WaitForSlotAsync(InstancePool pool, Guid requestId, DateTime deadline, CancellationToken aborted)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        window.CancelAfter(deadline - DateTime.UtcNow);
        try
        {
            return await pool.AcquireAsync(requestId, window.Token);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            throw new TimeoutException();
        }
    }
}

/// <summary>What a caller asked for.</summary>
/// <param name="RequestId">The <c>NVCF-REQID</c> given to it.</param>
/// <param name="FunctionId">The function.</param>
/// <param name="VersionId">The pinned version, if any.</param>
/// <param name="PollSeconds">The poll window.</param>
/// <param name="Compatible">
/// Compatibility mode (docs/nvcf-contract.md#response-handling): 202s, problem details for errors, 302 for large
/// results.
/// </param>
/// <param name="PathAndQuery">Path on the container; null for the function's inference URL.</param>
/// <param name="Content">A body to send instead of the caller's (the envelope API's <c>requestBody</c>).</param>
/// <param name="AssetIds">Input assets to place in the request's <c>NVCF-ASSET-DIR</c>.</param>
/// <param name="Grpc">A gRPC call (docs/nvcf-contract.md#grpc-invocation).</param>
public sealed record InvocationRequest(
    Guid RequestId, Guid FunctionId, Guid? VersionId, int PollSeconds, bool Compatible, string? PathAndQuery = null, HttpContent? Content = null,
    IReadOnlyList<Guid>? AssetIds = null, bool Grpc = false)
{
    /// <summary>When the request arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long ArrivedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();
}

public abstract record InvocationOutcome;

/// <summary>The container answered within the window; the response is still to be read.</summary>
public sealed record Answered(HttpResponseMessage Response, ActiveInvocation Active) : InvocationOutcome;

/// <summary>The window ended first (or progress was reported): 202, result later through status.</summary>
public sealed record Accepted(PendingInvocation Pending, ProgressReport? Progress) : InvocationOutcome;

/// <summary>No container answer: the request was refused or failed on the way.</summary>
/// <param name="RetryAfterSeconds">For a 429: when to try again, sent as <c>Retry-After</c>.</param>
public sealed record Rejected(int StatusCode, string Detail, string? Type = null, int? RetryAfterSeconds = null) : InvocationOutcome
{
    /// <summary>The problem to answer, with <c>NVCF-STATUS: errored</c> and any <c>Retry-After</c> set on <paramref name="response"/>.</summary>
    public IResult ToResult(HttpResponse response)
    {
        response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusErrored;
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Api.Problems.Create(StatusCode, Detail, Type);
    }

    public FinalResponse ToFinal()
    {
        var problem = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["type"] = Type ?? "urn:kaizen:problem-details:" + Api.Problems.Kebab(Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(StatusCode)),
            ["title"] = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(StatusCode),
            ["status"] = StatusCode,
            ["detail"] = Detail,
        });
        return new FinalResponse(StatusCode, [new("Content-Type", "application/problem+json")], problem);
    }
}

/// <summary>The outcome of one status poll: the final answer, a progress report, or neither (still running).</summary>
public sealed record PollResult(PendingInvocation Pending, FinalResponse? Final, ProgressReport? Progress);

/// <summary>
/// An invocation holding an instance slot, its request folders, the caller's body and its forward span until its
/// answer has been read. Disposing it gives all of them back, once.
/// </summary>
public sealed class ActiveInvocation(
    InvocationRequest request,
    VersionRoute route,
    InstanceLease lease,
    RequestFolders folders,
    HttpContent? body,
    CancellationTokenSource work,
    CancellationTokenRegistration abortRegistration,
    System.Diagnostics.Activity? forwarding)
    : IDisposable
{
    private int _disposed;

    public InvocationRequest Request { get; } = request;

    public VersionRoute Route { get; } = route;

    public InstanceLease Lease { get; } = lease;

    public RequestFolders Folders { get; } = folders;

    public CancellationToken Cancellation => Work.Token;

    /// <summary>The caller's body on its way to the instance, when the invocation forwards it.</summary>
    internal StreamingRequestContent? Body { get; } = body as StreamingRequestContent;

    internal CancellationTokenSource Work { get; } = work;

    /// <summary>The caller's exchange is over (a 202): its going away no longer cancels the work.</summary>
    public void DetachFromCaller() => abortRegistration.Dispose();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            abortRegistration.Dispose();
            Work.Cancel(); // a request given up on (504) must not keep running on the instance once its slot is free
            Lease.Dispose();
            forwarding?.Dispose();
            Folders.Release();
            body?.Dispose();
            Work.Dispose();
        }
    }
}
