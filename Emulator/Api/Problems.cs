using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Orchestration;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Every error answer of the API: RFC 7807 problem details (<c>application/problem+json</c>) with the
/// cloud's status codes (docs/nvcf-contract.md#errors) and <c>type</c> URNs in the style of the NGC gateway.
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

    public static ProblemHttpResult Create(int status, string detail, string? type = null)
    {
        var title = ReasonPhrases.GetReasonPhrase(status);
        return TypedResults.Problem(
            detail: detail,
            statusCode: status,
            title: title,
            type: type ?? "urn:kaizen:problem-details:" + Kebab(title));
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
        var title = ReasonPhrases.GetReasonPhrase(status);
        problem.Status = status;
        if (problem.Type is null || problem.Type.StartsWith("https://", StringComparison.Ordinal))
        {
            problem.Type = "urn:kaizen:problem-details:" + Kebab(title);
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

    /// <summary>"Not Found" → "not-found".</summary>
    public static string Kebab(string title) => title.ToLowerInvariant().Replace(' ', '-');

    private static class ReasonPhrases
    {
        public static string GetReasonPhrase(int status) =>
            Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
    }
}
