using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// One invocation from request to answer (docs/nvcf-contract.md#version-selection,
/// docs/nvcf-contract.md#waiting-and-polling, docs/nvcf-contract.md#large-responses,
/// docs/nvcf-contract.md#progress-reporting, docs/nvcf-contract.md#response-handling): choose the version, take an
/// instance slot within the poll window (else 504), forward, then either hand the answer back to be relayed or, when the
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
    IOptions<EmulatorOptions> options,
    ILogger<InvocationService> logger)
{
    private const string Subject = "local-user";
    private const int MaxErrorBodyBytes = 1024 * 1024;
    private static readonly TimeSpan ProgressCheckInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Routes, takes a slot, forwards and waits for the answer within the poll window, step by step: limit the body,
    /// select the version, admit it under the version's rate limit, take an instance slot, forward, await the answer.
    /// From the moment a slot is taken, the invocation owns it: every way out of here either hands it on with the
    /// outcome (an answer to relay, a 202 whose work goes on) or gives it back.
    /// </summary>
    public async Task<InvocationOutcome> InvokeAsync(HttpContext context, InvocationRequest request)
    {
        if (LimitBody(context, request) is { } tooLarge)
        {
            return tooLarge;
        }

        var selection = router.Select(request.FunctionId, request.VersionId, request.NcaId);
        if (selection.Route is not { } route)
        {
            return NotInvocable(request, selection.Failure);
        }

        if (Admit(context, route, request.NcaId) is { } limited)
        {
            return limited;
        }

        var deadline = DateTime.UtcNow.AddSeconds(request.PollSeconds);
        var (lease, noSlot) = await TakeSlotAsync(route, request, deadline, context.RequestAborted);
        if (lease is null)
        {
            return noSlot!;
        }

        if (Forward(context, request, route, lease, deadline, out var badPath) is not { } active)
        {
            return badPath!;
        }

        return await AwaitAnswerAsync(context, active, deadline);
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

    private static Rejected NotInvocable(InvocationRequest request, RouteFailure failure) => failure == RouteFailure.Degraded
        ? new Rejected(StatusCodes.Status400BadRequest, $"Function id '{request.FunctionId}': DEGRADED function cannot be invoked")
        : new Rejected(StatusCodes.Status404NotFound, $"Function id '{request.FunctionId}' version '{request.VersionId?.ToString() ?? "any"}': Specified function in account '{request.NcaId}' is not found");

    /// <summary>The chosen version's limit, as the cloud checks it: after the version is picked, before a slot is taken.</summary>
    private Rejected? Admit(HttpContext context, VersionRoute route, string ncaId) =>
        route.RateLimiter is { } limiter && !limiter.TryAdmit(context.Request.Headers.Authorization.ToString(), ncaId, out var refusal)
            ? RateLimited(route, refusal)
            : null;

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

    /// <summary>
    /// Prepares the request's folders and starts sending it to the leased instance; null with the 400 in
    /// <paramref name="badPath"/> when the path cannot make an address (the slot is given back then).
    /// </summary>
    private ActiveInvocation? Forward(
        HttpContext context, InvocationRequest request, VersionRoute route, InstanceLease lease, DateTime deadline, out Rejected? badPath)
    {
        badPath = null;
        Uri address;
        try
        {
            address = lease.Target.AddressOf(request.PathAndQuery ?? route.Version.InferencePath);
        }
        catch (UriFormatException e)
        {
            lease.Dispose();
            badPath = new Rejected(StatusCodes.Status400BadRequest, $"Invalid request path: {e.Message}");
            return null;
        }

        ActiveInvocation active;
        try
        {
            var folders = lease.Target.Folders.ForRequest(request.RequestId);
            var body = request.Content is null ? StreamingRequestContent.ForCaller(context) : null;
            var work = new CancellationTokenSource();
            var abortRegistration = context.RequestAborted.Register(static state => ((CancellationTokenSource)state!).Cancel(), work);
            var forwarding = EmulatorTelemetry.StartForward(route, request.RequestId, lease.Target.InstanceId);
            active = new ActiveInvocation(request, route, lease, folders, body, work, abortRegistration, forwarding);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        try
        {
            foreach (var assetId in request.AssetIds ?? [])
            {
                assets.CopyTo(assetId, active.Folders.InputAssets);
            }

            var invocation = new Invocation(
                request.RequestId, route.Version, address, Subject, request.NcaId, deadline, (HttpContent?)active.Body ?? request.Content, CallersBody: active.Body is not null, request.AssetIds, request.Grpc);
            active.Sending = forwarder.SendAsync(context, invocation, lease.Target, active.Cancellation);
            return active;
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
    private async Task<InvocationOutcome> AwaitAnswerAsync(HttpContext context, ActiveInvocation active, DateTime deadline)
    {
        try
        {
            var request = active.Request;
            var progress = await AwaitWindowAsync(active, deadline);
            if (!active.Sending.IsCompleted && request.Compatible && active.Body is { } body)
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

            if (active.Sending.IsCompleted)
            {
                return Answer(active);
            }

            return request.Compatible ? Accept(active, progress) : GiveUp(active);
        }
        catch
        {
            active.Dispose();
            throw;
        }
    }

    /// <summary>The answer that came in time; or, when the send failed, why (the slot is given back then).</summary>
    private InvocationOutcome Answer(ActiveInvocation active)
    {
        try
        {
            return new Answered(active.Sending.GetAwaiter().GetResult(), active);
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
                logger.InstanceUnreachable(active.Request.RequestId, active.Lease.Target.InstanceId, e.Message);
                return InferenceConnectionError;
            }

            return ClientClosed;
        }
    }

    /// <summary>The window is over (or progress came first): the caller gets 202, the work goes on.</summary>
    private Accepted Accept(ActiveInvocation active, ProgressReport? progress)
    {
        var request = active.Request;
        active.DetachFromCaller();
        var record = new PendingInvocation(request.RequestId, request.NcaId, active.Route.Version, request.PollSeconds, active.Folders, active.Work);
        if (progress is not null)
        {
            record.ProgressDelivered = progress.WrittenAt;
        }

        record.Result = CompleteInBackgroundAsync(active);
        pending.Add(record);
        return new Accepted(record, progress);
    }

    /// <summary>No generated 202 outside compatibility mode: the platform gives up as when no worker answers.</summary>
    private static Rejected GiveUp(ActiveInvocation active)
    {
        active.Dispose();
        return new Rejected(StatusCodes.Status504GatewayTimeout, $"The function did not answer within {active.Request.PollSeconds} s.");
    }

    /// <summary>Waits until the answer comes or the window ends; in compatibility mode, a progress report ends the wait too.</summary>
    private static async Task<ProgressReport?> AwaitWindowAsync(ActiveInvocation active, DateTime deadline)
    {
        var request = active.Request;
        var sending = active.Sending;
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

    /// <summary>
    /// <c>GET /pexec/status/{requestId}</c>: waits up to the poll window for the final answer (then forgets the
    /// request) or a new progress report; else 202 again. Null when the request is unknown, expired, or another
    /// account's (<paramref name="ncaId"/> is the caller's).
    /// </summary>
    public async Task<PollResult?> PollAsync(Guid requestId, string ncaId, int pollSeconds, CancellationToken aborted)
    {
        if (pending.Find(requestId, ncaId) is not { } record)
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

    /// <summary>
    /// What compatibility mode (docs/nvcf-contract.md#response-handling, docs/nvcf-contract.md#large-responses) makes of
    /// an answer before the caller sees it: an error becomes problem details, a large answer (declared over 5 MiB, or
    /// with large outputs) a <see cref="LargeResult"/>. An answer of unknown length is read until it ends or passes
    /// 5 MiB (so at most that plus one read is held): within it, it comes back with its <see cref="Answered.Head"/>
    /// to be relayed; past it, what was held and the rest go into the zip. Any other answer comes back as it is, to be
    /// streamed (at once: nothing is read, so nothing is awaited). Outside compatibility mode every answer is relayed
    /// as it is and this is not called.
    /// </summary>
    public async ValueTask<InvocationOutcome> SettleAsync(Answered answered, CancellationToken cancellationToken)
    {
        var (response, active) = answered;
        var status = (int)response.StatusCode;
        if (status >= 400)
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new MemoryStream();
            await CopyAtMostAsync(stream, buffer, MaxErrorBodyBytes, cancellationToken);
            return FunctionError(status, buffer.ToArray());
        }

        if (LargeResults.IsLarge(response.Content.Headers.ContentLength, active.Folders))
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return new LargeResult(await largeResults.StoreAsync(active.Request.RequestId, stream, active.Folders, cancellationToken));
        }

        if (response.Content.Headers.ContentLength is not null)
        {
            return answered;
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var head = await BodyHead.ReadAsync(body, NvcfHeaders.MaxDirectResponseSizeBytes, cancellationToken);
        if (head.Complete)
        {
            return answered with { Head = head };
        }

        await using (body)
        using (head)
        {
            return new LargeResult(await largeResults.StoreAsync(active.Request.RequestId, head.Bytes, body, active.Folders, cancellationToken));
        }
    }

    /// <summary>Reads an answer to the end for a caller who is not waiting on it (after a 202), applying compatibility mode.</summary>
    public async Task<FinalAnswer> FinishAsync(HttpResponseMessage response, ActiveInvocation active, CancellationToken cancellationToken)
    {
        var answered = new Answered(response, active);
        var settled = active.Request.Compatible ? await SettleAsync(answered, cancellationToken) : answered;
        switch (settled)
        {
            case FinalAnswer final:
                return final;
            case Answered { Head: { } head }:
                using (head)
                {
                    return Completed.From(response, head.Bytes.ToArray());
                }

            default:
                return Completed.From(response, await response.Content.ReadAsByteArrayAsync(cancellationToken));
        }
    }

    /// <summary>
    /// What the worker makes of a container error in compatibility mode (docs/nvcf-contract.md#response-handling):
    /// problem details typed <c>urn:inference-service:problem-details:&lt;status&gt;</c>, detail from the body's
    /// <c>error</c> field.
    /// </summary>
    private static Rejected FunctionError(int statusCode, byte[] containerBody) =>
        new(statusCode, ErrorField(containerBody) ?? "Inference error", ProblemSource.Function);

    private static string? ErrorField(byte[] body)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            return json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error)
                ? error.ValueKind == System.Text.Json.JsonValueKind.String ? error.GetString() : error.GetRawText()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static Rejected InferenceConnectionError => new(
        StatusCodes.Status500InternalServerError, "Inference connection error while making inference request", ProblemSource.Connection);

    private async Task<FinalAnswer> CompleteInBackgroundAsync(ActiveInvocation active)
    {
        using (active)
        {
            try
            {
                using var response = await active.Sending;
                return await FinishAsync(response, active, active.Cancellation);
            }
            catch (HttpRequestException e)
            {
                logger.InstanceUnreachable(active.Request.RequestId, active.Lease.Target.InstanceId, e.Message);
                return InferenceConnectionError;
            }
            catch (OperationCanceledException)
            {
                return new Rejected(StatusCodes.Status500InternalServerError, "The request was cancelled: its result was not polled for.");
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
/// <param name="NcaId">The caller's account: it chooses among the versions it may invoke, and its rate limits apply.</param>
public sealed record InvocationRequest(
    Guid RequestId, Guid FunctionId, Guid? VersionId, string NcaId, int PollSeconds, bool Compatible, string? PathAndQuery = null, HttpContent? Content = null,
    IReadOnlyList<Guid>? AssetIds = null, bool Grpc = false)
{
    /// <summary>When the request arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long ArrivedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();
}

/// <summary>The outcome of one status poll: the final answer, a progress report, or neither (still running).</summary>
public sealed record PollResult(PendingInvocation Pending, FinalAnswer? Final, ProgressReport? Progress);

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

    /// <summary>The forward: complete once the answer's headers have arrived.</summary>
    internal Task<HttpResponseMessage> Sending { get; set; } = null!;

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
