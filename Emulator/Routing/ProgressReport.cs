using System.Text;
using System.Text.Json;

namespace Nvcf.Emulator.Routing;

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
}
