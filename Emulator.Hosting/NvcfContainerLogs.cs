using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>
/// Streams the stdout and stderr of each function's instance containers into the function resource's log, with
/// one <c>docker logs --follow</c> per container: started when an instance appears in <c>activeInstances</c>,
/// stopped when it disappears. A container followed again (after the emulator restarted and adopted it) resumes
/// where the previous follow stopped; a container seen for the first time starts at the app host's start, so
/// nothing is shown twice. With several instances, each line starts with the instance's short name.
/// </summary>
internal sealed class NvcfContainerLogs(ResourceLoggerService resourceLoggers, ILogger<NvcfContainerLogs> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly Dictionary<NvcfFunctionResource, FunctionLogs> _functions = [];

    /// <summary>Follows exactly the given containers of the function: starts the new ones, stops the ones no longer listed.</summary>
    public void Follow(NvcfFunctionResource function, IReadOnlyCollection<string> containers)
    {
        lock (_lock)
        {
            if (!_functions.TryGetValue(function, out var logs))
            {
                logs = _functions[function] = new FunctionLogs(resourceLoggers.GetLogger(function));
            }

            logs.Prefixed = containers.Count > 1;
            foreach (var (container, follow) in logs.Following.Where(f => !containers.Contains(f.Key) || f.Value.Exited).ToList())
            {
                Stop(logs, container, follow);
            }

            foreach (var container in containers.Where(c => !logs.Following.ContainsKey(c)))
            {
                var since = logs.StoppedAt.TryGetValue(container, out var stopped) ? stopped : _started;
                if (Start(logs, container, since) is { } follow)
                {
                    logs.Following[container] = follow;
                }
            }
        }
    }

    /// <summary>Stops following every container of the function.</summary>
    public void StopAll(NvcfFunctionResource function) => Follow(function, []);

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var logs in _functions.Values)
            {
                foreach (var (container, follow) in logs.Following.ToList())
                {
                    Stop(logs, container, follow);
                }
            }
        }
    }

    private ContainerFollow? Start(FunctionLogs logs, string container, DateTimeOffset since)
    {
        var sinceText = (since.ToUnixTimeMilliseconds() / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);
        var info = new ProcessStartInfo("docker", ["logs", "--follow", "--since", sinceText, container])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("docker did not start");
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            NvcfLog.ContainerLogsFailed(logger, container, e.Message);
            return null;
        }

        NvcfLog.FollowingContainer(logger, container);
        var follow = new ContainerFollow(process);
        var prefix = $"[{ShortName(container)}] ";
        follow.Pump = Task.WhenAll(
            PumpAsync(process.StandardOutput, logs, prefix, isError: false),
            PumpAsync(process.StandardError, logs, prefix, isError: true))
            .ContinueWith(_ => follow.Exited = true, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return follow;
    }

    private static void Stop(FunctionLogs logs, string container, ContainerFollow follow)
    {
        logs.Following.Remove(container);
        logs.StoppedAt[container] = DateTimeOffset.UtcNow;
        try
        {
            if (!follow.Process.HasExited)
            {
                follow.Process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }

        follow.Process.Dispose();
    }

    private static async Task PumpAsync(StreamReader reader, FunctionLogs logs, string prefix, bool isError)
    {
        try
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                var text = logs.Prefixed ? prefix + line : line;
                if (isError)
                {
                    NvcfLog.ContainerError(logs.Logger, text);
                }
                else
                {
                    NvcfLog.ContainerOutput(logs.Logger, text);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The follow was stopped.
        }
    }

    /// <summary><c>nvcf-echo-1a2b3c4d-5e6f7a8b</c> → <c>5e6f7a8b</c> (the instance ID's start).</summary>
    private static string ShortName(string container) =>
        container.LastIndexOf('-') is var dash and >= 0 && dash < container.Length - 1 ? container[(dash + 1)..] : container;

    private sealed class FunctionLogs(ILogger logger)
    {
        public ILogger Logger { get; } = logger;

        public Dictionary<string, ContainerFollow> Following { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, DateTimeOffset> StoppedAt { get; } = new(StringComparer.Ordinal);

        public volatile bool Prefixed;
    }

    private sealed class ContainerFollow(Process process)
    {
        public Process Process { get; } = process;

        public Task? Pump { get; set; }

        public volatile bool Exited;
    }
}
