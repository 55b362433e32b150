using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Primitives;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// A complete answer held in memory: a container's response read to the end, a problem, or a 302 to a large
/// result. Used when the client is not connected while it arrives (after a 202) and for the envelope API.
/// </summary>
public sealed record FinalResponse(int StatusCode, IReadOnlyList<KeyValuePair<string, StringValues>> Headers, byte[] Body)
{
    public string? ContentType => Headers.FirstOrDefault(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Value.ToString() is { Length: > 0 } t ? t : null;

    public string? Location => Headers.FirstOrDefault(h => h.Key.Equals("Location", StringComparison.OrdinalIgnoreCase)).Value.ToString() is { Length: > 0 } l ? l : null;

    public static FinalResponse Redirect(string location) =>
        new(StatusCodes.Status302Found, [new("Location", location)], []);

    /// <summary>
    /// What the worker makes of a container error in compatibility mode (docs/nvcf-contract.md#response-handling):
    /// problem details typed <c>urn:inference-service:problem-details:&lt;status&gt;</c>, detail from the body's
    /// <c>error</c> field.
    /// </summary>
    public static FinalResponse InferenceError(int statusCode, byte[] containerBody)
    {
        var title = ReasonPhrases(statusCode);
        var problem = new Dictionary<string, object>
        {
            ["type"] = "urn:inference-service:problem-details:" + title.ToLowerInvariant().Replace(' ', '-'),
            ["title"] = title,
            ["status"] = statusCode,
            ["detail"] = ErrorField(containerBody) ?? "Inference error",
        };
        return new(statusCode, [new("Content-Type", "application/problem+json")], JsonSerializer.SerializeToUtf8Bytes(problem, ProblemJson.Options));
    }

    /// <summary>Reads a whole response: status, end-to-end headers and body.</summary>
    public static async Task<FinalResponse> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        From(response, await response.Content.ReadAsByteArrayAsync(cancellationToken));

    /// <summary>A response's status and end-to-end headers with its body, read already.</summary>
    public static FinalResponse From(HttpResponseMessage response, byte[] body)
    {
        var headers = response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated)
            .Where(h => !InvocationForwarder.IsHopByHop(h.Key) && !h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(h => new KeyValuePair<string, StringValues>(h.Key, new StringValues([.. h.Value])))
            .ToList();
        return new((int)response.StatusCode, headers, body);
    }

    public async Task WriteAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCode;
        foreach (var (name, value) in Headers)
        {
            // A large result's address is relative to whichever host the client reached.
            response.Headers[name] = name.Equals("Location", StringComparison.OrdinalIgnoreCase) && value.ToString().StartsWith('/')
                ? $"{response.HttpContext.Request.Scheme}://{response.HttpContext.Request.Host}{value}"
                : value;
        }

        response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusFor(StatusCode);
        response.ContentLength = Body.Length;
        await response.Body.WriteAsync(Body, cancellationToken);
    }

    private static string? ErrorField(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error)
                ? error.ValueKind == JsonValueKind.String ? error.GetString() : error.GetRawText()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string ReasonPhrases(int statusCode) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(statusCode) is { Length: > 0 } phrase
            ? phrase
            : ((HttpStatusCode)statusCode).ToString();

    private static class ProblemJson
    {
        public static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    }
}

/// <summary>
/// A progress report the function wrote to <c>NVCF-LARGE-OUTPUT-DIR/progress</c>
/// (docs/nvcf-contract.md#progress-reporting).
/// </summary>
/// <param name="Percent">0–100.</param>
/// <param name="PartialResponse">The <c>partialResponse</c> object, as JSON.</param>
/// <param name="WrittenAt">The file's modification time: a report is delivered once.</param>
public sealed record ProgressReport(int Percent, byte[] PartialResponse, DateTime WrittenAt)
{
    /// <summary>Reads the progress file, if there is one for this request and it is complete JSON.</summary>
    public static ProgressReport? Read(string path, Guid requestId)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return null;
            }

            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = json.RootElement;
            if (!root.TryGetProperty("id", out var id) || id.GetString() != requestId.ToString()
                || !root.TryGetProperty("progress", out var progress) || !progress.TryGetInt32(out var percent))
            {
                return null;
            }

            var partial = root.TryGetProperty("partialResponse", out var p) ? Encoding.UTF8.GetBytes(p.GetRawText()) : "{}"u8.ToArray();
            return new ProgressReport(Math.Clamp(percent, 0, 100), partial, info.LastWriteTimeUtc);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or InvalidOperationException)
        {
            return null; // being written, or not ours to read: the next look will tell
        }
    }

    public Task WriteAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status202Accepted;
        response.Headers[NvcfHeaders.Status] = NvcfHeaders.StatusInProgress;
        response.Headers[NvcfHeaders.PercentComplete] = Percent.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.ContentType = "application/json";
        response.ContentLength = PartialResponse.Length;
        return response.Body.WriteAsync(PartialResponse, cancellationToken).AsTask();
    }
}
