using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Nvcf.Packages.Tests;

/// <summary>
/// A new app host, outside the repository, that references only the <c>Nvcf.Emulator.Hosting</c> package (see
/// <c>consumer/</c>): it restores and builds without warnings and without pins of its own, runs the emulator that
/// ships in the package, builds its function from its own Dockerfile, deploys two versions, and invocations by
/// function ID reach both.
/// </summary>
public sealed partial class HostingPackageTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ActiveTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(1);

    private readonly string _folder = Directory.CreateTempSubdirectory("nvcf-consumer-").FullName;

    [Fact]
    public async Task ANewAppHostWithOnlyThePackageDeploysTwoVersionsThatInvocationsByFunctionIdBothReach()
    {
        var version = Packages.VersionOf(Packages.HostingPackage);
        var appHost = await CopyConsumerAsync();

        var (buildExit, build) = await ChildProcess.RunAsync("dotnet", ["build", "--nologo", "-tl:off"], BuildTimeout, appHost);
        output.WriteLine(build);
        Assert.True(buildExit == 0, $"dotnet build failed:{Environment.NewLine}{build}");
        Assert.Contains("0 Warning(s)", build, StringComparison.Ordinal);
        // The floating reference resolved to the package just packed (Requested *-*, Resolved <version>).
        Assert.Matches($@"> {Regex.Escape(Packages.HostingPackage)} \*-\* {Regex.Escape(version)}\b", await ListPackagesAsync(appHost));

        await using var app = ChildProcess.Start("dotnet", ["run", "--no-build", "--no-launch-profile"], appHost, new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort()}",
            ["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{FreePort()}",
            ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true",
            ["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"] = "true",
            ["BusyboxBase"] = await Packages.BusyboxBaseAsync(),
        });
        try
        {
            var v1 = await app.WaitForOutputAsync(ActiveLine("hello"), ActiveTimeout);
            var v2 = await app.WaitForOutputAsync(ActiveLine("hello-v2"), ActiveTimeout);
            var invokeUrl = v1.Groups["url"].Value;
            Assert.Equal(invokeUrl, v2.Groups["url"].Value); // by function ID: one function, two versions
            var functionId = Regex.Match(invokeUrl, "/functions/(?<id>[0-9a-f-]{36})$").Groups["id"].Value;
            Assert.Equal(2, (await ContainersOfAsync(functionId)).Count);

            using var http = new HttpClient();
            var answeredBy = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < 30; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, invokeUrl) { Content = new StringContent($$"""{"n":{{i}}}""", System.Text.Encoding.UTF8, "application/json") };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "local");
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
                var answer = JsonNode.Parse(body)!;
                Assert.Equal(i, (int)answer["body"]!["n"]!);
                var versionName = (string)answer["version"]!;
                answeredBy[versionName] = answeredBy.GetValueOrDefault(versionName) + 1;
            }

            output.WriteLine($"By function ID: {string.Join(", ", answeredBy.Select(kv => $"{kv.Key}: {kv.Value}"))}");
            Assert.Equal(["v1", "v2"], answeredBy.Keys.Order(StringComparer.Ordinal));

            // Stopping the app host, as Ctrl+C or a CI job's cancellation does, stops the emulator and its containers.
            await app.StopAsync(StopTimeout);
            await Eventually(async () => (await ContainersOfAsync(functionId)).Count == 0, TimeSpan.FromSeconds(30));
        }
        finally
        {
            output.WriteLine(app.Output);
        }
    }

    [Fact]
    public async Task AnAppHostOnAnOlderAspireFailsToBuildWithOneMessageNamingTheFix()
    {
        var appHost = await CopyConsumerAsync();

        // As an app host on Aspire 9.5 would be: its SDK sets AspireHostingSDKVersion.
        var (buildExit, build) = await ChildProcess.RunAsync(
            "dotnet", ["build", "--nologo", "-tl:off", "-p:AspireHostingSDKVersion=9.5.2"], BuildTimeout, appHost);
        output.WriteLine(build);

        Assert.NotEqual(0, buildExit);
        Assert.Contains(
            "error NVCF001: Nvcf.Emulator.Hosting needs Aspire 13.6 or later, and this app host uses Aspire.AppHost.Sdk 9.5.2. "
                + "Change the project's Sdk to Aspire.AppHost.Sdk/13.6.4 (or later) and every Aspire.* package reference to 13.6.5 (or later).",
            build,
            StringComparison.Ordinal);
        Assert.DoesNotContain("error CS", build, StringComparison.Ordinal); // stopped before compiling against the wrong Aspire
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The consumer app host, copied outside the repository with a nuget.config for the packed packages.</summary>
    private async Task<string> CopyConsumerAsync()
    {
        Packages.ForgetCached(Packages.HostingPackage, Packages.VersionOf(Packages.HostingPackage));
        CopyFolder(Path.Combine(Packages.RepositoryRoot, "tests", "Packages.Tests", "consumer"), _folder);
        await File.WriteAllTextAsync(Path.Combine(_folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="nvcf-emulator" value="{Packages.Folder}" />
              </packageSources>
            </configuration>
            """);
        return Path.Combine(_folder, "AppHost");
    }

    private static Regex ActiveLine(string name) =>
        new($@"NVCF function '{Regex.Escape(name)}' is ACTIVE\. Invoke it with:\s+curl -X POST (?<url>\S+)");

    private static async Task<string> ListPackagesAsync(string project)
    {
        var (exitCode, list) = await ChildProcess.RunAsync("dotnet", ["list", "package"], TimeSpan.FromMinutes(1), project);
        Assert.True(exitCode == 0, list);
        return Regex.Replace(list, @"\s+", " ");
    }

    private static async Task<IReadOnlyList<string>> ContainersOfAsync(string functionId)
    {
        var (exitCode, ids) = await ChildProcess.RunAsync(
            "docker", ["ps", "-aq", "--filter", $"label=com.nvidia.nvcf-emulator.function-id={functionId}"], TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, ids);
        return ids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not true within {timeout.TotalSeconds:0} s.");
            await Task.Delay(500);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar) is [.., "bin" or "obj", _] || relative.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(target, File.GetUnixFileMode(file)); // the CGI script stays executable
            }
        }
    }
}
