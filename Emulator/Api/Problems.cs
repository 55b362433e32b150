using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Every error answer of the API: RFC 7807 problem details (<c>application/problem+json</c>) with the
/// cloud's status codes (docs/nvcf-contract.md#errors) and <c>type</c> URNs in the style of the NGC gateway. The one
/// place problems are made: the handlers' answers, the middleware's 401, the exception handlers, ASP.NET Core's own
/// (<see cref="ShapeLikeNvcf"/>) and the problems inside exec's envelope.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult BadRequest(string detail) => Create(StatusCodes.Status400BadRequest, detail);

    public static ProblemHttpResult Unauthorized(string detail) => Create(StatusCodes.Status401Unauthorized, detail);

    public static ProblemHttpResult Forbidden(string detail) => Create(StatusCodes.Status403Forbidden, detail);

    public static ProblemHttpResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, detail);

    public static ProblemHttpResult Conflict(string detail) => Create(StatusCodes.Status409Conflict, detail);

    /// <summary>A control-plane <see cref="Rejection"/> as HTTP: the one place where its kind becomes a status code.</summary>
    public static ProblemHttpResult From(Rejection rejection) => rejection.Kind switch
    {
        RejectionKind.NotFound => NotFound(rejection.Detail),
        RejectionKind.Conflict => Conflict(rejection.Detail),
        _ => BadRequest(rejection.Detail),
    };

    /// <summary>A control-plane <see cref="Outcome{T}"/> as HTTP: 200 with <paramref name="answer"/> of its value, or its rejection's problem.</summary>
    public static Results<Ok<TResponse>, ProblemHttpResult> OkOr<T, TResponse>(Outcome<T> outcome, Func<T, TResponse> answer)
        where T : notnull =>
        outcome.Value is { } value ? TypedResults.Ok(answer(value)) : From(outcome.Rejection!);

    /// <summary>As <see cref="OkOr"/>, for an answer that awaits something (it runs only when there is a value).</summary>
    public static async Task<Results<Ok<TResponse>, ProblemHttpResult>> OkOrAsync<T, TResponse>(Outcome<T> outcome, Func<T, Task<TResponse>> answer)
        where T : notnull =>
        outcome.Value is { } value ? TypedResults.Ok(await answer(value)) : From(outcome.Rejection!);

    /// <summary>An invocation's <see cref="Rejected"/> as HTTP: the problem of the platform, the function or its connection.</summary>
    public static ProblemHttpResult From(Rejected rejected) => TypedResults.Problem(Details(rejected));

    public static ProblemHttpResult Create(int status, string detail) => TypedResults.Problem(Details(status, detail, "kaizen"));

    /// <summary>An invocation's <see cref="Rejected"/> as a problem, its <c>type</c> named after whose problem it is.</summary>
    public static ProblemDetails Details(Rejected rejected) => Details(rejected.StatusCode, rejected.Detail, rejected.Source switch
    {
        ProblemSource.Function => "inference-service",
        ProblemSource.Connection => "inference-connection",
        _ => "kaizen",
    });

    /// <summary>The problem: <c>type</c> <c>urn:&lt;source&gt;:problem-details:&lt;title in kebab case&gt;</c>, the reason phrase as title.</summary>
    private static ProblemDetails Details(int status, string detail, string source)
    {
        var title = Title(status);
        return new ProblemDetails { Type = Type(source, title), Title = title, Status = status, Detail = detail };
    }

    /// <summary>
    /// Gives the answers that ASP.NET Core writes itself (no route matched, 415, 405, an unhandled exception) the same
    /// shape as the emulator's own: an NVCF <c>type</c>, the reason phrase as title, and a detail that says what happened.
    /// </summary>
    public static void ShapeLikeNvcf(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var http = context.HttpContext;
        var status = problem.Status ?? http.Response.StatusCode;
        var title = Title(status);
        problem.Status = status;
        if (problem.Type is null || problem.Type.StartsWith("https://", StringComparison.Ordinal))
        {
            problem.Type = Type("kaizen", title);
        }

        problem.Title = title;
        problem.Detail ??= status switch
        {
            StatusCodes.Status404NotFound => $"No NVCF route matches {http.Request.Method} {http.Request.Path}",
            StatusCodes.Status405MethodNotAllowed => $"{http.Request.Method} is not allowed on {http.Request.Path}",
            StatusCodes.Status415UnsupportedMediaType => $"Unsupported Content-Type '{http.Request.ContentType}': this endpoint takes application/json",
            _ when context.Exception is { } exception => $"Internal error: {exception.Message}",
            _ => title,
        };
    }

    /// <summary>"kaizen", "Not Found" → "urn:kaizen:problem-details:not-found".</summary>
    private static string Type(string source, string title) => $"urn:{source}:problem-details:{title.ToLowerInvariant().Replace(' ', '-')}";

    /// <summary>The reason phrase; the number where the status has none.</summary>
    private static string Title(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase
            ? phrase
            : status.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
