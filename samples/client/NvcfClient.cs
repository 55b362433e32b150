using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Nvcf.Client;

/// <summary>
/// Invokes an NVCF function through pexec and follows the platform's protocol to the final answer:
/// <list type="bullet">
/// <item>200 (or any other final status): the function's response, returned as it is;</item>
/// <item>202: still running. Polls <c>GET /v2/nvcf/pexec/status/{NVCF-REQID}</c> until the answer is final, reporting
/// each 202 (with <c>NVCF-PERCENT-COMPLETE</c> and the partial response, when the function reports progress);</item>
/// <item>302: a large result, a zip at <c>Location</c>; <see cref="DownloadAsync"/> fetches it.</item>
/// </list>
/// The same code talks to the cloud (<see cref="CloudBaseUrl"/>, with an <c>nvapi-</c> key) and to the emulator.
/// </summary>
/// <remarks>
/// The <see cref="HttpClient"/> must not follow redirects (the 302 is an answer, not a hop) and should have no overall
/// timeout: a call may block as long as <c>NVCF-POLL-SECONDS</c> says, and a request may run for an hour.
/// <see cref="CreateHttpClient"/> makes one like that. The API key is sent per request, never to download URLs.
/// </remarks>
/// <param name="http">Its <see cref="HttpClient.BaseAddress"/> is the NVCF API, e.g. https://api.nvcf.nvidia.com/.</param>
/// <param name="apiKey">Sent as <c>Authorization: Bearer</c>; null sends none.</param>
public sealed class NvcfClient(HttpClient http, string? apiKey)
{
    public const string CloudBaseUrl = "https://api.nvcf.nvidia.com";

    /// <summary>An <see cref="HttpClient"/> for <see cref="NvcfClient"/>: no redirects followed, no overall timeout.</summary>
    public static HttpClient CreateHttpClient(Uri baseAddress) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false })
        {
            // Relative paths resolve below the base only when it ends with '/'.
            BaseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>Invokes the function and polls until its answer is final.</summary>
    /// <param name="functionId">The function.</param>
    /// <param name="versionId">A version of it, or null for any deployed version.</param>
    /// <param name="body">The request body (disposed here), e.g. JSON; null sends none.</param>
    /// <param name="pollSeconds">NVCF-POLL-SECONDS for each call (1..3600): how long one call may block; null leaves the platform's default (60 s).</param>
    /// <param name="onProgress">Called for every 202, in order.</param>
    /// <param name="cancellationToken">Stops waiting. (The request itself ends on the platform once nobody polls it.)</param>
    public async Task<NvcfResult> InvokeAsync(
        Guid functionId,
        Guid? versionId,
        HttpContent? body,
        int? pollSeconds = null,
        Action<NvcfProgress>? onProgress = null,
        CancellationToken cancellationToken = default)
    {
        var path = versionId is { } version
            ? $"v2/nvcf/pexec/functions/{functionId}/versions/{version}"
            : $"v2/nvcf/pexec/functions/{functionId}";
        using var invoke = NewRequest(HttpMethod.Post, path, pollSeconds);
        invoke.Content = body;
        var response = await http.SendAsync(invoke, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            while (response.StatusCode == HttpStatusCode.Accepted)
            {
                var requestId = RequestIdOf(response)
                    ?? throw new HttpRequestException("The platform answered 202 without an NVCF-REQID header.");
                var partial = await response.Content.ReadAsStringAsync(cancellationToken);
                onProgress?.Invoke(new NvcfProgress(requestId, PercentCompleteOf(response), partial.Length > 0 ? partial : null));

                // Each status call blocks until the result, a new progress report, or the poll window's end.
                using var poll = NewRequest(HttpMethod.Get, $"v2/nvcf/pexec/status/{requestId}", pollSeconds);
                response.Dispose();
                response = await http.SendAsync(poll, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }

            var location = response.StatusCode == HttpStatusCode.Found && response.Headers.Location is { } found
                ? new Uri(response.RequestMessage?.RequestUri ?? http.BaseAddress!, found) // absolute, even if sent relative
                : null;
            return new NvcfResult(
                response.StatusCode,
                RequestIdOf(response),
                response.Content.Headers.ContentType?.ToString(),
                await response.Content.ReadAsByteArrayAsync(cancellationToken),
                location);
        }
        finally
        {
            response.Dispose();
        }
    }

    /// <summary>
    /// Downloads a large result (the zip behind a 302) into <paramref name="destination"/>. The URL is pre-signed, so
    /// no API key goes with it.
    /// </summary>
    public async Task DownloadAsync(Uri resultUrl, Stream destination, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(resultUrl, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Downloading {resultUrl} failed: {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        }

        await response.Content.CopyToAsync(destination, cancellationToken);
    }

    private HttpRequestMessage NewRequest(HttpMethod method, string path, int? pollSeconds)
    {
        var request = new HttpRequestMessage(method, path);
        if (!string.IsNullOrEmpty(apiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        if (pollSeconds is { } seconds)
        {
            request.Headers.Add("NVCF-POLL-SECONDS", seconds.ToString(CultureInfo.InvariantCulture));
        }

        return request;
    }

    private static string? RequestIdOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("NVCF-REQID", out var values) ? values.FirstOrDefault() : null;

    private static int? PercentCompleteOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("NVCF-PERCENT-COMPLETE", out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var percent)
            ? percent
            : null;
}

/// <summary>One 202 while the request runs.</summary>
/// <param name="RequestId">NVCF-REQID: the request being polled.</param>
/// <param name="PercentComplete">NVCF-PERCENT-COMPLETE, when the function reported progress.</param>
/// <param name="PartialResponse">The function's partial response (JSON), when it reported one.</param>
public sealed record NvcfProgress(string RequestId, int? PercentComplete, string? PartialResponse);

/// <summary>The final answer of an invocation.</summary>
/// <param name="StatusCode">200, 302 for a large result, or an error status (4xx, 5xx).</param>
/// <param name="RequestId">NVCF-REQID.</param>
/// <param name="ContentType">The body's media type.</param>
/// <param name="Body">The body: the function's response, or a problem (RFC 9457) on errors; empty for 302.</param>
/// <param name="ResultUrl">For 302: the zip to download (pre-signed, no API key needed).</param>
public sealed record NvcfResult(HttpStatusCode StatusCode, string? RequestId, string? ContentType, byte[] Body, Uri? ResultUrl)
{
    public bool IsSuccess => (int)StatusCode is >= 200 and < 400;

    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>For errors: the problem's title and detail (NVCF answers <c>application/problem+json</c>), else the text.</summary>
    public NvcfProblem? Problem => IsSuccess ? null : NvcfProblem.From(this);
}

/// <summary>What went wrong, from a problem+json body (<c>title</c>, <c>detail</c>) or, failing that, the plain text.</summary>
public sealed record NvcfProblem(string Title, string? Detail)
{
    internal static NvcfProblem From(NvcfResult result)
    {
        var fallback = new NvcfProblem(result.StatusCode.ToString(), result.Body.Length > 0 ? result.BodyText : null);
        try
        {
            using var json = JsonDocument.Parse(result.Body);
            var root = json.RootElement;
            return root.ValueKind == JsonValueKind.Object
                ? new NvcfProblem(StringOf(root, "title") ?? fallback.Title, StringOf(root, "detail") ?? StringOf(root, "error"))
                : fallback;
        }
        catch (JsonException)
        {
            return fallback;
        }
    }

    private static string? StringOf(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
