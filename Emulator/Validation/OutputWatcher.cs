using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Validation;

/// <summary>
/// Watches what the container writes under <c>/var/inf/response</c> during the test invocation (the host side of its
/// mount): <c>progress</c> files (docs/nvcf-contract.md#progress-reporting) and large output files
/// (docs/nvcf-contract.md#large-responses), which must be in the request's own <c>NVCF-LARGE-OUTPUT-DIR</c>,
/// <c>/var/inf/response/&lt;NVCF-REQID&gt;</c>.
/// </summary>
public sealed class OutputWatcher(string instancesFolder)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _outputs = [];
    private readonly Dictionary<Guid, HashSet<string>> _present = [];
    private readonly HashSet<string> _misplaced = [];
    private readonly List<string> _progressErrors = [];
    private readonly Dictionary<string, DateTime> _progressSeen = [];
    private int _progressUpdates;
    private int? _lastPercent;

    /// <summary>Starts watching until the result is disposed, which scans once more.</summary>
    public IAsyncDisposable Start()
    {
        var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Scan();
                await Task.Delay(Interval, CancellationToken.None);
            }
        });
        return new Stopper(stop, loop, this);
    }

    /// <summary>Adds the <c>outputs</c> check; <paramref name="zipEntries"/> are the files of a large result, if any.</summary>
    public void Report(ValidationReport report, IReadOnlyList<string> zipEntries)
    {
        lock (_lock)
        {
            foreach (var entry in zipEntries.Where(e => !e.EndsWith(".response", StringComparison.Ordinal)))
            {
                _outputs.TryAdd(entry, -1);
            }

            var problems = _progressErrors.Distinct().ToList();
            problems.AddRange(_misplaced.Select(m => $"{InstanceFolders.ContainerResponse}/{m} is outside the request's NVCF-LARGE-OUTPUT-DIR "
                + $"({InstanceFolders.ContainerResponse}/<NVCF-REQID>): NVCF never sees it. Write into the folder the header names."));
            if (problems.Count > 0)
            {
                report.Fail("outputs", string.Join("\n", problems));
                return;
            }

            var wrote = new List<string>();
            if (_progressUpdates > 0)
            {
                wrote.Add($"progress ({_progressUpdates} update(s), last {_lastPercent}%)");
            }

            if (_outputs.Count > 0)
            {
                wrote.Add("large output(s) " + string.Join(", ", _outputs.Select(o => o.Value < 0 ? o.Key : $"{o.Key} ({o.Value} bytes)")));
            }

            report.Pass("outputs", wrote.Count == 0
                ? "wrote no progress or large output files (both optional)"
                : $"wrote {string.Join(" and ", wrote)} in NVCF-LARGE-OUTPUT-DIR");
        }
    }

    private void Scan()
    {
        try
        {
            if (!Directory.Exists(instancesFolder))
            {
                return;
            }

            foreach (var response in Directory.EnumerateDirectories(instancesFolder).Select(i => Path.Combine(i, "response")).Where(Directory.Exists))
            {
                foreach (var entry in Directory.EnumerateFileSystemEntries(response))
                {
                    var name = Path.GetFileName(entry);
                    if (name.StartsWith('.'))
                    {
                        continue;
                    }

                    if (!Guid.TryParse(name, out var requestId) || !Directory.Exists(entry))
                    {
                        lock (_lock)
                        {
                            _misplaced.Add(name);
                        }

                        continue;
                    }

                    var present = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var file in Directory.EnumerateFiles(entry, "*", SearchOption.AllDirectories))
                    {
                        var relative = Path.GetRelativePath(entry, file).Replace(Path.DirectorySeparatorChar, '/');
                        if (relative == Runtime.RequestFolders.ProgressFile)
                        {
                            ReadProgress(file, requestId);
                        }
                        else
                        {
                            var length = new FileInfo(file).Length;
                            present.Add(relative);
                            lock (_lock)
                            {
                                _outputs[relative] = length;
                            }
                        }
                    }

                    ForgetTransient(requestId, present);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Folders come and go with each request: the next scan sees what is there then.
        }
    }

    /// <summary>
    /// A file seen in one scan and gone in the next while its request's folder is still there was a temporary (such as
    /// the file a progress report is written to before its rename), not a large output.
    /// </summary>
    private void ForgetTransient(Guid requestId, HashSet<string> present)
    {
        lock (_lock)
        {
            if (_present.TryGetValue(requestId, out var before))
            {
                foreach (var gone in before.Where(name => !present.Contains(name)))
                {
                    _outputs.Remove(gone);
                }
            }

            _present[requestId] = present;
        }
    }

    private void ReadProgress(string file, Guid requestId)
    {
        var written = File.GetLastWriteTimeUtc(file);
        lock (_lock)
        {
            if (_progressSeen.TryGetValue(file, out var seen) && seen == written)
            {
                return;
            }

            _progressSeen[file] = written;
        }

        var text = File.ReadAllText(file);
        string? error = null;
        int? percent = null;
        try
        {
            var progress = JsonNode.Parse(text) as JsonObject;
            if (progress is null)
            {
                error = "is not a JSON object";
            }
            else if ((string?)progress["id"] != requestId.ToString())
            {
                error = $"has id '{progress["id"]}', not the request's NVCF-REQID {requestId}";
            }
            else if (progress["progress"] is not JsonValue value || !value.TryGetValue<int>(out var p) || p is < 0 or > 100)
            {
                error = "needs \"progress\": an integer from 0 to 100";
            }
            else if (progress["partialResponse"] is { } partial && partial is not JsonObject)
            {
                error = "has a \"partialResponse\" that is not a JSON object";
            }
            else
            {
                percent = p;
            }
        }
        catch (JsonException)
        {
            error = text.Length == 0 ? string.Empty : "is not JSON";
        }

        lock (_lock)
        {
            if (percent is not null)
            {
                _progressUpdates++;
                _lastPercent = percent;
            }
            else if (error is { Length: > 0 })
            {
                _progressErrors.Add(string.Create(CultureInfo.InvariantCulture,
                    $"The progress file {error} ({{\"id\": \"<NVCF-REQID>\", \"progress\": 0-100, \"partialResponse\": {{…}}}}, see docs/nvcf-contract.md#progress-reporting)."));
            }
        }
    }

    private sealed class Stopper(CancellationTokenSource stop, Task loop, OutputWatcher watcher) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await loop;
            watcher.Scan();
            stop.Dispose();
        }
    }
}
