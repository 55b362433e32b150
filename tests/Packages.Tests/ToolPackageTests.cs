using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Nvcf.Packages.Tests;

/// <summary>
/// The <c>nvcf-emulator</c> tool, installed from the packed <c>Nvcf.Emulator</c> into a tool path exactly as the README
/// says (<c>dotnet tool install --tool-path … --add-source … --prerelease Nvcf.Emulator</c>), then run as a user runs it.
/// </summary>
public sealed class ToolPackageTests(ToolPackageTests.InstalledTool tool, ITestOutputHelper output) : IClassFixture<ToolPackageTests.InstalledTool>
{
    private const string EchoImage = "nvcf-samples/echo:latest";
    private static readonly TimeSpan ActiveTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task TheToolServesTheAbFlowAndStopsItsContainersWhenStopped()
    {
        var port = FreePort();
        await using var emulator = ChildProcess.Start(tool.Command, ["--urls", $"http://127.0.0.1:{port}"], environment: new Dictionary<string, string?>
        {
            ["Emulator__WorkDirectory"] = Directory.CreateTempSubdirectory("nvcf-tool-work-").FullName,
        });
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "local");
            await emulator.WaitForOutputAsync(new Regex("Now listening on: http://127.0.0.1:" + port), TimeSpan.FromMinutes(1));

            var echo = new { name = "tool-ab", inferenceUrl = "/echo", inferencePort = 8000, containerImage = EchoImage };
            var v1 = await PostAsync(http, "/v2/nvcf/functions", echo);
            var functionId = (string)v1["function"]!["id"]!;
            var v2 = await PostAsync(http, $"/v2/nvcf/functions/{functionId}/versions", echo);
            string[] versions = [(string)v1["function"]!["versionId"]!, (string)v2["function"]!["versionId"]!];
            foreach (var versionId in versions)
            {
                await PostAsync(http, $"/v2/nvcf/deployments/functions/{functionId}/versions/{versionId}", new
                {
                    deploymentSpecifications = new[] { new { gpu = "L40", instanceType = "gl40_1.br20_2xlarge", minInstances = 1, maxInstances = 1, maxRequestConcurrency = 4 } },
                });
            }

            foreach (var versionId in versions)
            {
                await WaitForActiveAsync(http, functionId, versionId);
            }

            var answeredBy = await InvokeManyAsync(http, functionId, 30);
            output.WriteLine($"By function ID: {string.Join(", ", answeredBy.Select(kv => $"{kv.Key}: {kv.Value}"))}");
            Assert.Equal(versions.Order(StringComparer.Ordinal), answeredBy.Keys.Order(StringComparer.Ordinal));

            // The new version verified, the old one goes: every request reaches the new one.
            using (var undeploy = await http.DeleteAsync($"/v2/nvcf/deployments/functions/{functionId}/versions/{versions[0]}"))
            {
                Assert.Equal(HttpStatusCode.OK, undeploy.StatusCode);
            }

            Assert.Equal([versions[1]], (await InvokeManyAsync(http, functionId, 10)).Keys);

            Assert.Equal(0, await emulator.StopAsync(TimeSpan.FromSeconds(30)));
            Assert.Empty(await ContainersOfAsync(functionId));
        }
        finally
        {
            output.WriteLine(emulator.Output);
        }
    }

    [Fact]
    public async Task ValidatePassesAGoodImageAndLeavesNothingRunning()
    {
        var (exitCode, report) = await ChildProcess.RunAsync(
            tool.Command, ["validate", EchoImage, "--inference-url", "/echo", "--timeout", "60"], TimeSpan.FromMinutes(3));
        output.WriteLine(report);

        Assert.True(exitCode == 0, report);
        Assert.DoesNotContain("FAIL", report, StringComparison.Ordinal);
        Assert.Contains($"PASSED: {EchoImage} is ready to publish.", report, StringComparison.Ordinal);
        Assert.Empty(await ContainersNamedAsync(report));
    }

    [Fact]
    public async Task ValidateFailsAWrongHealthPathSayingTheHealthCheckFailed()
    {
        var (exitCode, report) = await ChildProcess.RunAsync(
            tool.Command, ["validate", EchoImage, "--inference-url", "/echo", "--health-uri", "/not-the-health-path", "--timeout", "8"], TimeSpan.FromMinutes(3));
        output.WriteLine(report);

        Assert.NotEqual(0, exitCode);
        Assert.Matches(@"FAIL health +GET :8000/not-the-health-path did not answer 200 within 8 s", report);
        Assert.Contains($"FAILED: {EchoImage} is not ready to publish.", report, StringComparison.Ordinal);
        Assert.Empty(await ContainersNamedAsync(report));
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task WaitForActiveAsync(HttpClient http, string functionId, string versionId)
    {
        var deadline = DateTime.UtcNow + ActiveTimeout;
        while (true)
        {
            var deployment = (await http.GetFromJsonAsync<JsonObject>($"/v2/nvcf/deployments/functions/{functionId}/versions/{versionId}"))!["deployment"]!;
            var status = (string?)deployment["functionStatus"];
            if (status == "ACTIVE")
            {
                return;
            }

            Assert.True(status != "ERROR" && DateTime.UtcNow < deadline, $"Version {versionId} is {status}: {deployment.ToJsonString()}");
            await Task.Delay(500);
        }
    }

    private static async Task<Dictionary<string, int>> InvokeManyAsync(HttpClient http, string functionId, int count)
    {
        var answeredBy = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var body = $$"""{"request":{{i}}}""";
            using var response = await http.PostAsync($"/v2/nvcf/pexec/functions/{functionId}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
            var version = response.Headers.GetValues("X-Echo-Function-Version-Id").Single();
            answeredBy[version] = answeredBy.GetValueOrDefault(version) + 1;
        }

        return answeredBy;
    }

    private static async Task<IReadOnlyList<string>> ContainersOfAsync(string functionId) =>
        await DockerPsAsync($"label=com.nvidia.nvcf-emulator.function-id={functionId}");

    /// <summary>The containers still there of the one validate named in its report (<c>… container nvcf-validate-…</c>).</summary>
    private static async Task<IReadOnlyList<string>> ContainersNamedAsync(string report)
    {
        var name = Regex.Match(report, @"\b(nvcf-validate-[a-z0-9-]+)").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(name), $"The report names no container:{Environment.NewLine}{report}");
        return await DockerPsAsync($"name={name}");
    }

    private static async Task<IReadOnlyList<string>> DockerPsAsync(string filter)
    {
        var (exitCode, ids) = await ChildProcess.RunAsync("docker", ["ps", "-aq", "--filter", filter], TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, ids);
        return ids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The tool installed once for the class, into a tool path of its own, from the packed package.</summary>
    public sealed class InstalledTool : IAsyncLifetime
    {
        private readonly string _toolPath = Directory.CreateTempSubdirectory("nvcf-tool-").FullName;

        public string Command => Path.Combine(_toolPath, "nvcf-emulator");

        public async Task InitializeAsync()
        {
            var version = Packages.VersionOf(Packages.ToolPackage);
            var (exitCode, install) = await ChildProcess.RunAsync(
                "dotnet", ["tool", "install", "--tool-path", _toolPath, "--add-source", Packages.Folder, "--prerelease", Packages.ToolPackage], TimeSpan.FromMinutes(3));
            Assert.True(exitCode == 0, $"dotnet tool install failed:{Environment.NewLine}{install}");
            Assert.Contains($"(version '{version}')", install, StringComparison.Ordinal);
            Assert.True(File.Exists(Command), $"No {Command} after:{Environment.NewLine}{install}");
        }

        public Task DisposeAsync()
        {
            Directory.Delete(_toolPath, recursive: true);
            return Task.CompletedTask;
        }
    }
}
