using System.Diagnostics;
using System.Text.RegularExpressions;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// <c>nvcf-emulator validate</c> run as a user runs it, a process (<c>dotnet Nvcf.Emulator.dll validate …</c>), on the
/// real engine: its printed report, its exit code, and that nothing of the validation is left running.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed partial class ValidateCommandTests(DockerFixture docker)
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task TheEchoSamplePassesEveryCheckAndLeavesNothingRunning()
    {
        var (exitCode, output) = await ValidateAsync(DockerFixture.EchoImage, "--inference-url", "/echo", "--health-uri", "/v2/health/ready", "--timeout", "60");

        Assert.True(exitCode == 0, output);
        string[] checks = ["engine", "image", "user", "ports", "start", "health", "invoke", "response", "outputs", "stays up"];
        foreach (var check in checks)
        {
            Assert.Matches(new Regex($"^PASS {Regex.Escape(check)} ", RegexOptions.Multiline), output);
        }

        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
        Assert.Matches(@"PASS invoke +POST /echo through pexec answered 200", output);
        Assert.Contains($"PASSED: {DockerFixture.EchoImage} is ready to publish.", output, StringComparison.Ordinal);
        await AssertGoneAsync(ContainerNamedIn(output));
    }

    [Fact]
    public async Task AWrongHealthPathFailsTheHealthCheckSayingWhatItAnsweredAndLeavesNothingRunning()
    {
        var (exitCode, output) = await ValidateAsync(DockerFixture.EchoImage, "--inference-url", "/echo", "--health-uri", "/nope", "--timeout", "8");

        Assert.Equal(1, exitCode);
        Assert.Matches(@"FAIL health +GET :8000/nope did not answer 200 within 8 s: .*GET /nope answered 404", output);
        Assert.Matches(@"SKIP invoke ", output);
        Assert.Contains($"FAILED: {DockerFixture.EchoImage} is not ready to publish.", output, StringComparison.Ordinal);
        await AssertGoneAsync(ContainerNamedIn(output));
    }

    [Fact]
    public async Task AMissingImageIsOneFailureNamingTheFixAndStartsNothing()
    {
        const string missing = "nvcf-test/validate-missing:never-built";
        var (exitCode, output) = await ValidateAsync(missing, "--inference-url", "/echo");

        Assert.Equal(1, exitCode);
        var failures = output.Split('\n').Where(l => l.StartsWith("FAIL ", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            $"FAIL image   The image {missing} is not on the Docker engine. Build it (docker build -t {missing} <folder>) or pull it (docker pull {missing}), then run validate again.",
            Assert.Single(failures).TrimEnd());
        Assert.DoesNotContain("PASS start", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingEngineIsOneFailureNamingTheFix()
    {
        var (exitCode, output) = await ValidateAsync(
            DockerFixture.EchoImage, ["--inference-url", "/echo"], ("Emulator__Docker__Endpoint", "unix:///tmp/nvcf-emulator-no-engine.sock"));

        Assert.Equal(1, exitCode);
        Assert.StartsWith(
            "FAIL engine  The Docker engine at unix:///tmp/nvcf-emulator-no-engine.sock is not reachable",
            Assert.Single(output.Split('\n'), l => l.StartsWith("FAIL ", StringComparison.Ordinal)),
            StringComparison.Ordinal);
        Assert.Contains("Start Docker, or point DOCKER_HOST", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonReportsEveryCheckForCi()
    {
        var (exitCode, output) = await ValidateAsync(DockerFixture.EchoImage, "--inference-url", "/echo", "--json");

        Assert.Equal(0, exitCode);
        var report = System.Text.Json.Nodes.JsonNode.Parse(output)!;
        Assert.True((bool)report["passed"]!);
        Assert.Equal(DockerFixture.EchoImage, (string?)report["image"]);
        Assert.All(report["checks"]!.AsArray(), c => Assert.Equal("PASS", (string?)c!["outcome"]));
        await AssertGoneAsync(ContainerNamedIn((string)report["checks"]!.AsArray().Single(c => (string?)c!["name"] == "start")!["detail"]!));
    }

    [Fact]
    public async Task TheProgressSampleReportsItsProgressFileAndLargeOutputWhereNvcfExpectsThem()
    {
        var (exitCode, output) = await ValidateAsync(
            DockerFixture.ProgressImage, "--inference-url", "/run", "--body", """{"steps":3,"stepMs":700,"outputFiles":1}""", "--timeout", "60");

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"PASS response +302 to a large result .*: 2 file\(s\) in the zip", output);
        // The report names the last update it saw: on a loaded machine the final rewrite can come and go between two looks.
        Assert.Matches(@"PASS outputs +wrote progress \(\d+ update\(s\), last \d+%\) and large output\(s\) result-1\.txt .*in NVCF-LARGE-OUTPUT-DIR", output);
        await AssertGoneAsync(ContainerNamedIn(output));
    }

    [Fact]
    public async Task AContainerThatExitsFailsTheStartCheckWithItsLastLogLines()
    {
        const string tag = "nvcf-validate-test/exits:local";
        await Command.RunAsync("docker", ["build", "--quiet", "--tag", tag, "-"],
            input: $"FROM {DockerFixture.CgiImage}\nENTRYPOINT []\nCMD [\"sh\", \"-c\", \"echo cannot load the model; exit 3\"]\n");
        try
        {
            var (exitCode, output) = await ValidateAsync(tag, "--inference-url", "/infer", "--timeout", "30");

            Assert.Equal(1, exitCode);
            Assert.Matches(@"FAIL start +The container stopped before it was ready: Container '[^']+' exited with code 3 ", output);
            Assert.Contains("cannot load the model", output, StringComparison.Ordinal);
            Assert.Matches(@"SKIP health ", output);
        }
        finally
        {
            await Command.RunAsync("docker", ["image", "rm", "--force", tag]);
        }
    }

    [Fact]
    public async Task AnImageThatRunsAsRootOnAReservedPortFailsThoseChecks()
    {
        const string tag = "nvcf-validate-test/root:local";
        await Command.RunAsync("docker", ["build", "--quiet", "--tag", tag, "-"], input: $"FROM {DockerFixture.CgiImage}\nUSER root\nEXPOSE 8080\n");
        try
        {
            var (exitCode, output) = await ValidateAsync(tag, "--inference-url", "/cgi-bin/env", "--health-uri", "/v2/health/ready", "--timeout", "30");

            Assert.Equal(1, exitCode);
            Assert.Matches(@"FAIL user +The image runs as root \(USER root\)\. NVCF functions must not", output);
            Assert.Matches(@"FAIL ports +EXPOSE 8080 uses a port NVCF reserves \(8080, 8010, 9190, 9191\)", output);
            Assert.Matches(@"PASS invoke ", output);
            await AssertGoneAsync(ContainerNamedIn(output));
        }
        finally
        {
            await Command.RunAsync("docker", ["image", "rm", "--force", tag]);
        }
    }

    [Fact]
    public async Task AnInterruptedValidationRemovesItsContainer()
    {
        var start = new ProcessStartInfo("dotnet", [EmulatorDll(), "validate", DockerFixture.EchoImage, "--inference-url", "/echo", "--health-uri", "/nope", "--timeout", "120"])
        {
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        global::Docker.DotNet.Models.ContainerListResponse? container = null;
        await Eventually.TrueAsync(
            async () => (container = (await docker.Docker.Containers.ListContainersAsync(new global::Docker.DotNet.Models.ContainersListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { ["nvcf-validate-"] = true } },
            })).FirstOrDefault()) is not null,
            TimeSpan.FromMinutes(1));

        // SIGTERM, as a CI job's cancellation sends: a process started in the background of a non-interactive shell (as
        // eng/test.sh runs the tests) inherits SIGINT ignored, so Ctrl+C's signal would not reach it here.
        await Command.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("FAIL cancelled  Validation was cancelled; the container was removed.", await output, StringComparison.Ordinal);
        await AssertGoneAsync(container!.Names[0].TrimStart('/'));
    }

    private static Task<(int ExitCode, string Output)> ValidateAsync(string image, params string[] options) => ValidateAsync(image, options, []);

    private static async Task<(int ExitCode, string Output)> ValidateAsync(string image, string[] options, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[EmulatorDll(), "validate", image, .. options])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ProcessTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"validate did not end within {ProcessTimeout}: {await output}");
        }

        return (process.ExitCode, (await output) + (await error));
    }

    /// <summary>The emulator as built next to these tests' project (same configuration), run as <c>dotnet &lt;dll&gt;</c>.</summary>
    private static string EmulatorDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = here.Parent!.Name;
        var framework = here.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Emulator.sln")))
        {
            root = root.Parent;
        }

        var dll = Path.Combine(root!.FullName, "Emulator", "bin", configuration, framework, "Nvcf.Emulator.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first.");
        return dll;
    }

    private static string ContainerNamedIn(string report) => ContainerName().Match(report) is { Success: true } match
        ? match.Groups["name"].Value
        : throw new Xunit.Sdk.XunitException($"The report names no container: {report}");

    private async Task AssertGoneAsync(string container)
    {
        var left = await docker.Docker.Containers.ListContainersAsync(new global::Docker.DotNet.Models.ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [container] = true } },
        });
        Assert.Empty(left);
    }

    [GeneratedRegex(@"container (?<name>nvcf-validate-[0-9a-f-]+)")]
    private static partial Regex ContainerName();
}
