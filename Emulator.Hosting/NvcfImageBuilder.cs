using System.ComponentModel;
using System.Diagnostics;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>Builds a function's image with the <c>docker</c> CLI, its output going to the function's log.</summary>
internal static class NvcfImageBuilder
{
    /// <summary>How many of the last output lines a failed build's error quotes.</summary>
    private const int ErrorTailLines = 8;

    public static async Task BuildAsync(string image, NvcfImageBuild build, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        // A wrong path is the usual mistake: say which one, before docker says something about symlinks.
        var dockerfile = Path.Combine(build.ContextPath, build.Dockerfile);
        if (!Directory.Exists(build.ContextPath))
        {
            throw new InvalidOperationException(
                $"The build context {build.ContextPath} does not exist. Fix the path given to AddNvcfFunctionFromDockerfile (relative to the app host's folder, or absolute).");
        }

        if (!File.Exists(dockerfile))
        {
            throw new InvalidOperationException(
                $"There is no Dockerfile at {dockerfile}. Add it, or fix the dockerfile argument of AddNvcfFunctionFromDockerfile (relative to the build context, or absolute).");
        }

        var arguments = new List<string> { "build", "--tag", image, "--file", dockerfile };
        foreach (var (name, value) in build.BuildArgs)
        {
            arguments.Add("--build-arg");
            arguments.Add($"{name}={value}");
        }

        arguments.Add(build.ContextPath);
        NvcfLog.Building(resourceLogger, image, "docker " + string.Join(' ', arguments));

        var info = new ProcessStartInfo("docker", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = build.ContextPath,
        };
        var tail = new Queue<string>();
        var started = Stopwatch.GetTimestamp();
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("docker did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"Building {image} needs the docker CLI: {e.Message}", e);
        }

        using (process)
        {
            var output = PumpAsync(process.StandardOutput, resourceLogger, tail);
            var error = PumpAsync(process.StandardError, resourceLogger, tail);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
                await Task.WhenAll(output, error);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            if (process.ExitCode != 0)
            {
                string lines;
                lock (tail)
                {
                    lines = string.Join('\n', tail);
                }

                throw new InvalidOperationException($"docker build of {image} failed with exit code {process.ExitCode}:\n{lines}");
            }
        }

        NvcfLog.Built(resourceLogger, image, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private static async Task PumpAsync(StreamReader reader, ILogger resourceLogger, Queue<string> tail)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            NvcfLog.BuildOutput(resourceLogger, line);
            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > ErrorTailLines)
                {
                    tail.Dequeue();
                }
            }
        }
    }
}
