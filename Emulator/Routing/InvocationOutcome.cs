using Microsoft.Extensions.Primitives;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// What an invocation comes to, for the caller: a closed set. Routing makes them; <c>Api.InvocationAnswers</c> alone
/// turns them into HTTP (relay, 202, problem details, 302, the envelope) and the gRPC listener into gRPC statuses.
/// </summary>
public abstract record InvocationOutcome
{
    private protected InvocationOutcome()
    {
    }
}

/// <summary>
/// The container answered within the window; its response is still to be read and relayed. It owns the response and
/// the invocation's slot until then: the writer disposes both.
/// </summary>
public sealed record Answered(HttpResponseMessage Response, ActiveInvocation Active) : InvocationOutcome
{
    /// <summary>
    /// The body, already read whole (compatibility mode reads an answer of unknown length to tell small from large);
    /// null when it is still to be streamed from <see cref="Response"/>.
    /// </summary>
    internal BodyHead? Head { get; init; }
}

/// <summary>The window ended first (or progress was reported): 202, the result later through status.</summary>
public sealed record Accepted(PendingInvocation Pending, ProgressReport? Progress) : InvocationOutcome;

/// <summary>A whole answer, held: what an invocation ends with after its 202, or what compatibility mode makes of one.</summary>
public abstract record FinalAnswer : InvocationOutcome
{
    private protected FinalAnswer()
    {
    }
}

/// <summary>No container answer to pass on: the request was refused or failed on the way, or its error is mapped.</summary>
/// <param name="StatusCode">The HTTP status.</param>
/// <param name="Detail">What went wrong, for the problem's <c>detail</c>.</param>
/// <param name="Source">Whose problem it is: names the problem's <c>type</c>.</param>
/// <param name="RetryAfterSeconds">For a 429: when to try again, sent as <c>Retry-After</c>.</param>
public sealed record Rejected(int StatusCode, string Detail, ProblemSource Source = ProblemSource.Platform, int? RetryAfterSeconds = null) : FinalAnswer;

/// <summary>A container's answer read to the end: status, end-to-end headers and body.</summary>
public sealed record Completed(int StatusCode, IReadOnlyList<KeyValuePair<string, StringValues>> Headers, byte[] Body) : FinalAnswer
{
    /// <summary>A response's status and end-to-end headers with its body, read already.</summary>
    public static Completed From(HttpResponseMessage response, byte[] body)
    {
        var headers = response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated)
            .Where(h => !InvocationForwarder.IsHopByHop(h.Key) && !h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(h => new KeyValuePair<string, StringValues>(h.Key, new StringValues([.. h.Value])))
            .ToList();
        return new((int)response.StatusCode, headers, body);
    }
}

/// <summary>A result too large to answer inline (docs/nvcf-contract.md#large-responses): 302 to its zip.</summary>
/// <param name="Location">The pre-signed path to download it from, relative to the host the caller reached.</param>
public sealed record LargeResult(string Location) : FinalAnswer;

/// <summary>Whose problem a <see cref="Rejected"/> is, which names its <c>type</c> URN.</summary>
public enum ProblemSource
{
    /// <summary>The platform refused or gave up: <c>urn:kaizen:problem-details:*</c>.</summary>
    Platform,

    /// <summary>The function answered an error, mapped in compatibility mode: <c>urn:inference-service:problem-details:*</c>.</summary>
    Function,

    /// <summary>The function's instance could not be reached: <c>urn:inference-connection:problem-details:*</c>.</summary>
    Connection,
}
