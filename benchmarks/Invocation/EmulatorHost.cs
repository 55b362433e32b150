using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// The emulator as a child process: the Release build, standalone, on a free loopback port, its output in a log
/// file (not a pipe, so that its logging costs the harness nothing). Stopped with SIGTERM, then killed.
/// </summary>
internal sealed class EmulatorHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _scratch;
    private int _stopped;

    private EmulatorHost(Process process, Uri baseAddress, string logPath, string scratch, bool direct)
    {
        _process = process;
        BaseAddress = baseAddress;
        LogPath = logPath;
        _scratch = scratch;
        EmulatorPid = direct ? process.Id : null;
    }

    public Uri BaseAddress { get; }

    public string LogPath { get; }

    /// <summary>PID of the emulator itself (null when it runs under <c>dotnet run</c>, whose child it is).</summary>
    public int? EmulatorPid { get; }

    public string Describe => EmulatorPid is { } pid ? $"started here, pid {pid}, log {LogPath}" : $"started here with dotnet run, log {LogPath}";

    /// <summary>Keep the log (and its folder) after the emulator stops: set when the run failed.</summary>
    public bool KeepLog { get; set; }

    public static async Task<EmulatorHost> StartAsync(
        string repoRoot, IReadOnlyList<string> extraArgs, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var projectDir = Path.Combine(repoRoot, "Emulator");
        var dll = Path.Combine(projectDir, "bin", "Release", "net10.0", "Nvcf.Emulator.dll");
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var scratch = Directory.CreateTempSubdirectory("nvcf-bench-");
        var logPath = Path.Combine(scratch.FullName, "emulator.log");
        var workDirectory = Path.Combine(scratch.FullName, "work");

        var command = new List<string>();
        var direct = File.Exists(dll);
        if (direct)
        {
            command.AddRange(["dotnet", dll]);
        }
        else
        {
            Console.WriteLine($"note: {dll} is missing; falling back to `dotnet run -c Release` (build it first: dotnet build -c Release Emulator)");
            command.AddRange(["dotnet", "run", "-c", "Release", "--project", Path.Combine(projectDir, "Emulator.csproj"), "--no-launch-profile", "--"]);
        }

        command.AddRange(
        [
            "--urls", baseAddress.ToString().TrimEnd('/'),
            "--Emulator:WorkDirectory=" + workDirectory,
            // Port 0: no clash with another emulator's gRPC listener on its fixed default port.
            "--Emulator:GrpcUrl=http://127.0.0.1:0",
        ]);
        command.AddRange(extraArgs);

        var start = new ProcessStartInfo { WorkingDirectory = projectDir, UseShellExecute = false };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        if (OperatingSystem.IsWindows())
        {
            start.FileName = command[0];
            foreach (var arg in command.Skip(1))
            {
                start.ArgumentList.Add(arg);
            }

            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
        }
        else
        {
            // The shell execs the emulator with its output appended to the log: same PID, no pipe to drain. setsid puts
            // it in a session of its own, so a Ctrl+C in the terminal reaches only the harness, which cleans up in order.
            start.FileName = "/bin/sh";
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(
                "exec >>\"$NVCF_BENCH_LOG\" 2>&1 </dev/null; if command -v setsid >/dev/null 2>&1; then exec setsid \"$0\" \"$@\"; else exec \"$0\" \"$@\"; fi");
            foreach (var arg in command)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["NVCF_BENCH_LOG"] = logPath;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the emulator");
        if (OperatingSystem.IsWindows())
        {
            var log = new StreamWriter(logPath) { AutoFlush = true };
            process.OutputDataReceived += (_, e) => WriteLine(log, e.Data);
            process.ErrorDataReceived += (_, e) => WriteLine(log, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        var host = new EmulatorHost(process, baseAddress, logPath, scratch.FullName, direct);
        try
        {
            await host.WaitHealthyAsync(TimeSpan.FromSeconds(direct ? 60 : 240), cancellationToken);
        }
        catch
        {
            host.KeepLog = true;
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>The last lines of the emulator's log, for failure reports.</summary>
    public string LogTail(int lines = 30)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(log unreadable: {e.Message})";
        }
    }

    /// <summary>Immediate kill, for process exit (second Ctrl+C and the like); no waiting.</summary>
    public void KillNow()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            TryKill();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        // SIGTERM first: the emulator shuts down gracefully and removes its containers.
        if (!_process.HasExited && !OperatingSystem.IsWindows())
        {
            try
            {
                using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                if (kill is not null)
                {
                    await kill.WaitForExitAsync();
                }

                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                // Still running: killed below.
            }
        }

        TryKill();
        _process.Dispose();
        try
        {
            // The work directory (request folders); the log too unless the run failed.
            Directory.Delete(KeepLog ? Path.Combine(_scratch, "work") : _scratch, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Files a container's user made; they go with the temp folder.
        }
    }

    private void TryKill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // Gone already.
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the emulator exited with code {_process.ExitCode} while starting. Its log ({LogPath}) ends with:\n{LogTail()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseAddress, "/health"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"the emulator did not answer /health within {timeout.TotalSeconds:F0} s. Its log ({LogPath}) ends with:\n{LogTail()}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WriteLine(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }
}
