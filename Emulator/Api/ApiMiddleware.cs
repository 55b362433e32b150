using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Nvcf.Emulator.Api;

/// <summary>What every <c>/v2</c> request goes through before its endpoint.</summary>
public static class ApiMiddleware
{
    private const string NvcfPrefix = "/v2/nvcf";

    /// <summary>
    /// NGC's org-scoped aliases (docs/nvcf-contract.md#hosts-and-paths) <c>/v2/orgs/{org}/nvcf/...</c> and
    /// <c>/v2/orgs/{org}/teams/{team}/nvcf/...</c> reach the same handlers as <c>/v2/nvcf/...</c>.
    /// </summary>
    public static IApplicationBuilder UseOrgScopedAliases(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var path = context.Request.Path.Value;
        if (path is not null && path.StartsWith("/v2/orgs/", StringComparison.Ordinal))
        {
            var segments = path.Split('/');
            // ["", "v2", "orgs", org, "nvcf", ...] or ["", "v2", "orgs", org, "teams", team, "nvcf", ...]
            var nvcfAt = segments.Length > 4 && segments[4] == "nvcf" ? 4
                : segments.Length > 6 && segments[4] == "teams" && segments[6] == "nvcf" ? 6
                : -1;
            if (nvcfAt > 0)
            {
                context.Request.Path = NvcfPrefix + (segments.Length > nvcfAt + 1 ? "/" + string.Join('/', segments[(nvcfAt + 1)..]) : string.Empty);
            }
        }

        return next(context);
    });

    /// <summary>
    /// Every <c>/v2</c> route needs <c>Authorization: Bearer &lt;token&gt;</c> (401 otherwise,
    /// docs/nvcf-contract.md#bearer-tokens). The token names the caller (<see cref="Accounts"/>): any token is the default
    /// account unless keys are configured, and then only they are accepted.
    /// </summary>
    public static IApplicationBuilder UseBearerAuthorization(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments("/v2") && CheckBearer(context) is { } detail)
        {
            await Problems.Unauthorized(detail).ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>
    /// After routing: an endpoint's <see cref="RequiredScopes"/> (docs/nvcf-contract.md#scopes) that the caller's key
    /// lacks get the cloud's 403, before the request is read.
    /// </summary>
    public static IApplicationBuilder UseScopeAuthorization(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<RequiredScopes>() is { } required && CheckScope(context, required.Scopes) is { } forbidden)
        {
            await forbidden.ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>
    /// Null when the request carries an accepted bearer token, whose <see cref="Caller"/> is then on the request's
    /// features; else why not.
    /// </summary>
    public static string? CheckBearer(HttpContext context)
    {
        var header = context.Request.Headers.Authorization;
        if (header.Count == 0)
        {
            return "Header of type `authorization` was missing";
        }

        var value = header.ToString();
        if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || value.Length <= "Bearer ".Length)
        {
            return "Unauthorized access";
        }

        if (context.RequestServices.GetRequiredService<Accounts>().Resolve(value.AsSpan("Bearer ".Length).Trim()) is not { } caller)
        {
            return "Unauthorized access";
        }

        context.Features.Set(caller);
        return null;
    }

    /// <summary>The cloud's 403 when the caller's key has none of <paramref name="scopes"/>, else null.</summary>
    public static ProblemHttpResult? CheckScope(HttpContext context, IReadOnlyList<string> scopes) =>
        Caller.Of(context).HasAny(scopes) ? null : Problems.Forbidden("Access Denied");

    /// <summary>Malformed JSON bodies, IDs that are not UUIDs and other binding failures: 400 problem details.</summary>
    public sealed class BadRequestExceptionHandler : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not BadHttpRequestException bad)
            {
                return false;
            }

            var detail = bad.InnerException is System.Text.Json.JsonException json
                ? $"Failed to read the request body: {json.Message}" + (json.Path is { } path && !json.Message.Contains(path, StringComparison.Ordinal) ? $" Path: {path}" : string.Empty)
                : bad.Message;
            await Problems.Create(bad.StatusCode, detail).ExecuteAsync(httpContext);
            return true;
        }
    }

    /// <summary>The state store is down: 503 problem details naming it, at once rather than after a timeout per call.</summary>
    public sealed class StoreUnavailableExceptionHandler : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not State.StoreUnavailableException unavailable)
            {
                return false;
            }

            httpContext.Response.Headers.RetryAfter = "1";
            await Problems.Create(StatusCodes.Status503ServiceUnavailable, unavailable.Message).ExecuteAsync(httpContext);
            return true;
        }
    }
}
