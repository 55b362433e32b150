using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Api;

/// <summary>
/// The one place where an <see cref="InvocationOutcome"/> becomes HTTP, for pexec and its status, exec and its
/// status, and HTTP invocation (docs/nvcf-contract.md#invocation): the container's answer relayed as it streams, 202
/// with <c>NVCF-PERCENT-COMPLETE</c> and a progress report's partial response, problem details, a 302 to a large
/// result, a held answer, or exec's <see cref="InvokeFunctionResponse"/> envelope. Every answer carries
/// <c>NVCF-STATUS</c>; the handlers set <c>NVCF-REQID</c> before anything can fail.
/// </summary>
public sealed class InvocationAnswers(InvocationService invocations, EmulatorTelemetry telemetry)
{
    /// <summary>
    /// Writes what a pexec, an HTTP invocation or a gRPC call came to, and counts it. A caller that goes away while
    /// the answer streams ends the writing quietly.
    /// </summary>
    public async Task WriteAsync(HttpContext context, InvocationRequest request, InvocationOutcome outcome)
    {
        try
        {
            await WriteAsync(context, outcome);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away while the answer streamed.
        }
        finally
        {
            telemetry.RecordInvocation(
                (outcome as Answered)?.Active.Route.Version ?? (outcome as Accepted)?.Pending.Version,
                context.Response.StatusCode,
                System.Diagnostics.Stopwatch.GetElapsedTime(request.ArrivedAt));
        }
    }

    /// <summary>Writes any outcome as pexec answers it (problems included: also the handlers' own 400s and 404s).</summary>
    public Task WriteAsync(HttpContext context, InvocationOutcome outcome) => outcome switch
    {
        Answered answered => RelayAsync(context, answered),
        Accepted accepted => WriteInProgressAsync(context.Response, accepted.Progress),
        FinalAnswer final => WriteFinalAsync(context, final),
        _ => throw new InvalidOperationException($"Unknown invocation outcome {outcome.GetType().Name}"),
    };

    /// <summary>One status poll: the final answer, else 202 with any new progress.</summary>
    public Task WritePollAsync(HttpContext context, PollResult poll) =>
        poll.Final is { } final ? WriteFinalAsync(context, final) : WriteInProgressAsync(context.Response, poll.Progress);

    /// <summary>
    /// exec's answer (docs/nvcf-contract.md#envelope-invocation): the outcome wrapped in the envelope, except a 429,
    /// which the cloud refuses before the envelope is made (problem details, as for pexec).
    /// </summary>
    public async Task WriteEnvelopeAsync(HttpContext context, Guid requestId, InvocationOutcome outcome)
    {
        switch (outcome)
        {
            case Answered answered:
                using (answered.Active)
                using (answered.Response)
                {
                    var final = await invocations.FinishAsync(answered.Response, answered.Active, context.RequestAborted);
                    await WriteEnvelopeAsync(context, requestId, final, null);
                }

                break;
            case Accepted accepted:
                await WriteEnvelopeAsync(context, requestId, null, accepted.Progress);
                break;
            case Rejected { StatusCode: StatusCodes.Status429TooManyRequests } limited:
                await WriteFinalAsync(context, limited);
                break;
            case FinalAnswer final:
                await WriteEnvelopeAsync(context, requestId, final, null);
                break;
        }
    }

    /// <summary>One exec status poll, in the envelope.</summary>
    public Task WriteEnvelopePollAsync(HttpContext context, Guid requestId, PollResult poll) =>
        WriteEnvelopeAsync(context, requestId, poll.Final, poll.Progress);

    /// <summary>
    /// The container's answer as it is: status, end-to-end headers and body (streamed, or held already when
    /// compatibility mode had to read it), then its trailers. In compatibility mode it is settled first: an error
    /// becomes problem details and a large answer a 302.
    /// </summary>
    private async Task RelayAsync(HttpContext context, Answered answered)
    {
        using (answered.Active)
        using (answered.Response)
        {
            var settled = answered.Active.Request.Compatible ? await invocations.SettleAsync(answered, context.RequestAborted) : answered;
            if (settled is not Answered { Head: var head })
            {
                await WriteFinalAsync(context, (FinalAnswer)settled);
                return;
            }

            var response = answered.Response;
            RelayHead(context.Response, response, answered.Active.Request.RequestId);
            if (head is null)
            {
                await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
                await body.CopyToAsync(context.Response.Body, context.RequestAborted);
            }
            else
            {
                using (head)
                {
                    await context.Response.Body.WriteAsync(head.Bytes, context.RequestAborted);
                }
            }

            RelayTrailers(context.Response, response);
        }
    }

    private static void RelayHead(HttpResponse target, HttpResponseMessage response, Guid requestId)
    {
        var statusCode = (int)response.StatusCode;
        target.StatusCode = statusCode;
        CopyResponseHeaders(response.Headers, target.Headers);
        CopyResponseHeaders(response.Content.Headers, target.Headers);
        target.Headers[NvcfHeaders.RequestId] = requestId.ToString();
        target.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusFor(statusCode);
    }

    private static void CopyResponseHeaders(System.Net.Http.Headers.HttpHeaders source, IHeaderDictionary target)
    {
        foreach (var (name, values) in source.NonValidated)
        {
            if (!InvocationForwarder.IsHopByHop(name))
            {
                target[name] = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues([.. values]);
            }
        }
    }

    /// <summary>gRPC status and other trailers come after the body.</summary>
    private static void RelayTrailers(HttpResponse target, HttpResponseMessage response)
    {
        if (response.TrailingHeaders.NonValidated.Count > 0 && target.SupportsTrailers())
        {
            foreach (var (name, values) in response.TrailingHeaders.NonValidated)
            {
                target.AppendTrailer(name, new StringValues([.. values]));
            }
        }
    }

    /// <summary>202 <c>NVCF-STATUS: in-progress</c>; with a progress report, its percent and partial response.</summary>
    private static Task WriteInProgressAsync(HttpResponse response, ProgressReport? progress)
    {
        response.StatusCode = StatusCodes.Status202Accepted;
        response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusInProgress;
        if (progress is null)
        {
            response.ContentLength = 0;
            return Task.CompletedTask;
        }

        response.Headers[NvcfHeaders.PercentComplete] = progress.Percent.ToString(CultureInfo.InvariantCulture);
        response.ContentType = "application/json";
        response.ContentLength = progress.PartialResponse.Length;
        return response.Body.WriteAsync(progress.PartialResponse, response.HttpContext.RequestAborted).AsTask();
    }

    private static Task WriteFinalAsync(HttpContext context, FinalAnswer final)
    {
        var response = context.Response;
        switch (final)
        {
            case Rejected rejected:
                response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusErrored;
                if (rejected.RetryAfterSeconds is { } seconds)
                {
                    response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                }

                return Problems.From(rejected).ExecuteAsync(context);

            case LargeResult large:
                response.StatusCode = StatusCodes.Status302Found;
                response.Headers.Location = Absolute(context.Request, large.Location);
                response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusFulfilled;
                response.ContentLength = 0;
                return Task.CompletedTask;

            case Completed completed:
                response.StatusCode = completed.StatusCode;
                foreach (var (name, value) in completed.Headers)
                {
                    response.Headers[name] = name.Equals("Location", StringComparison.OrdinalIgnoreCase) && value.ToString().StartsWith('/')
                        ? Absolute(context.Request, value.ToString())
                        : value;
                }

                response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusFor(completed.StatusCode);
                response.ContentLength = completed.Body.Length;
                return response.Body.WriteAsync(completed.Body, context.RequestAborted).AsTask();

            default:
                throw new InvalidOperationException($"Unknown final answer {final.GetType().Name}");
        }
    }

    /// <summary><c>InvokeFunctionResponse</c>: the HTTP status mirrors the inner one, with 302 mapped to 200.</summary>
    private static Task WriteEnvelopeAsync(HttpContext context, Guid requestId, FinalAnswer? final, ProgressReport? progress)
    {
        var (status, envelope) = final switch
        {
            null => (StatusCodes.Status202Accepted, new InvokeFunctionResponse(
                requestId, NvcfHeaders.StatusInProgress, PercentComplete: progress?.Percent, Response: progress is null ? null : Json(progress.PartialResponse))),
            LargeResult large => (StatusCodes.Status200OK, new InvokeFunctionResponse(
                requestId, NvcfHeaders.StatusFulfilled, ResponseReference: Absolute(context.Request, large.Location), PercentComplete: 100)),
            Completed { StatusCode: StatusCodes.Status302Found } redirect => (StatusCodes.Status200OK, new InvokeFunctionResponse(
                requestId, NvcfHeaders.StatusFulfilled, ResponseReference: LocationOf(context.Request, redirect), PercentComplete: 100)),
            Rejected rejected => (rejected.StatusCode, new InvokeFunctionResponse(
                requestId, NvcfHeaders.StatusErrored, ErrorCode: rejected.StatusCode,
                Response: JsonSerializer.SerializeToElement(Problems.Details(rejected), NvcfJsonContext.Default.ProblemDetails))),
            Completed completed => (completed.StatusCode, new InvokeFunctionResponse(
                requestId,
                NvcfHeaders.StatusFor(completed.StatusCode),
                PercentComplete: completed.StatusCode < 400 ? 100 : null,
                ErrorCode: completed.StatusCode >= 400 ? completed.StatusCode : null,
                Response: JsonOrString(completed.Body))),
            _ => throw new InvalidOperationException($"Unknown final answer {final.GetType().Name}"),
        };

        var json = JsonSerializer.SerializeToUtf8Bytes(envelope, NvcfJsonContext.Default.InvokeFunctionResponse);
        var response = context.Response;
        response.StatusCode = status;
        response.Headers[NvcfHeaders.Status] = envelope.Status;
        response.ContentType = "application/json";
        response.ContentLength = json.Length;
        return response.Body.WriteAsync(json, context.RequestAborted).AsTask();
    }

    /// <summary>A body as JSON: parsed when it is JSON, else as a string; none when it is empty or <c>null</c>.</summary>
    private static JsonElement? JsonOrString(byte[] body)
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            return Json(body);
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(System.Text.Encoding.UTF8.GetString(body), NvcfJsonContext.Default.String);
        }
    }

    private static JsonElement? Json(byte[] json) => JsonElement.Parse(json) is { ValueKind: not JsonValueKind.Null } element ? element : null;

    private static string? LocationOf(HttpRequest request, Completed redirect) =>
        redirect.Headers.FirstOrDefault(h => h.Key.Equals("Location", StringComparison.OrdinalIgnoreCase)).Value.ToString() is { Length: > 0 } location
            ? location.StartsWith('/') ? Absolute(request, location) : location
            : null;

    /// <summary>A large result's address is relative to whichever host the client reached.</summary>
    private static string Absolute(HttpRequest request, string path) => $"{request.Scheme}://{request.Host}{path}";
}
