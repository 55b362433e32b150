using System.Globalization;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// How long an invocation may block (docs/nvcf-contract.md#waiting-and-polling): <c>NVCF-POLL-SECONDS</c>,
/// default 60 s, or 20 min when the client accepts <c>text/event-stream</c>; values below 1 become 1; above 3600 or
/// not an integer is a 400.
/// </summary>
public static class PollWindow
{
    public const int DefaultSeconds = 60;
    public const int EventStreamDefaultSeconds = 1200;
    public const int MaxSeconds = 3600;

    /// <summary>Extra time the platform allows for a worker to pick a request up.</summary>
    public static readonly TimeSpan PickUpGrace = TimeSpan.FromSeconds(2);

    /// <summary>Returns the window in seconds, or null with the 400 detail in <paramref name="error"/>.</summary>
    /// <param name="request">The request.</param>
    /// <param name="error">Why the header is refused.</param>
    /// <param name="eventStreamDefault">Whether event streams get the 20-minute default (pexec, exec; not HTTP invocation).</param>
    public static int? Parse(HttpRequest request, out string? error, bool eventStreamDefault = true)
    {
        error = null;
        var header = request.Headers[NvcfHeaders.PollSeconds];
        if (header.Count == 0)
        {
            return eventStreamDefault && AcceptsEventStream(request) ? EventStreamDefaultSeconds : DefaultSeconds;
        }

        if (!long.TryParse(header.ToString().Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            error = "failed to parse NVCF-POLL-SECONDS";
            return null;
        }

        if (seconds > MaxSeconds)
        {
            error = $"NVCF-POLL-SECONDS must be <= {MaxSeconds}";
            return null;
        }

        return (int)Math.Max(1, seconds);
    }

    public static bool AcceptsEventStream(HttpRequest request)
    {
        foreach (var accept in request.Headers.Accept)
        {
            if (accept?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true)
            {
                return true;
            }
        }

        return false;
    }
}
