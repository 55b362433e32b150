using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Docker.DotNet.Models;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>How instances start, fail, run and end on the real engine, and what the user sees of it.</summary>
[Collection(DockerCollection.Name)]
public class ContainerLifecycleTests(DockerFixture docker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private HttpClient Http => docker.Http;

    [Fact]
    public async Task TheContainerRunsWithItsArgsItsEnvironmentAndThePlatformsVariablesAndHeaders()
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name = "cgi-env",
            inferenceUrl = "/cgi-bin/env",
            inferencePort = 8000,
            containerImage = DockerFixture.CgiImage,
            containerArgs = "httpd -f -p 8000 -h /www",
            containerEnvironment = new[] { new { key = "GREETING", value = "hello from the env" } },
        });
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var response = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("X-Trace-Me", "yes"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var environment = (await response.Content.ReadAsStringAsync())
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => kv[1]);

        Assert.Equal("hello from the env", environment["GREETING"]);
        Assert.Equal(function.Id().ToString(), environment["NVCF_FUNCTION_ID"]);
        Assert.Equal(function.VersionId().ToString(), environment["NVCF_FUNCTION_VERSION_ID"]);
        Assert.Equal("cgi-env", environment["NVCF_FUNCTION_NAME"]);
        Assert.Equal("gl40_1.br20_2xlarge", environment["NVCF_INSTANCETYPE"]);
        Assert.Equal("local-nca-id", environment["NVCF_NCA_ID"]);
        Assert.Equal(response.Header("NVCF-REQID"), environment["HTTP_NVCF_REQID"]);
        Assert.Equal("yes", environment["HTTP_X_TRACE_ME"]);
        Assert.Equal("POST", environment["REQUEST_METHOD"]);
        Assert.False(environment.ContainsKey("HTTP_AUTHORIZATION"));

        var container = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        Assert.Equal("httpd -f -p 8000 -h /www", container.Command);
        Assert.Equal("true", container.Labels[ContainerLabels.Managed]);
        Assert.Equal(function.VersionId().ToString(), container.Labels[ContainerLabels.VersionId]);
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task AnImageThatIsNeitherLocalNorPullableFailsTheDeploymentWithThePullError()
    {
        var function = await Http.CreateFunctionAsync(new { name = "no-image", inferenceUrl = "/echo", containerImage = "nvcf-test/does-not-exist:1.0" });
        await Http.DeployAsync(function);

        var failed = await Http.WaitForStatusAsync(function, Timeout, "ERROR");

        var error = (string?)failed["healthInfo"]![0]!["error"];
        Assert.StartsWith("Image 'nvcf-test/does-not-exist:1.0' was not found locally and could not be pulled: ", error);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task AContainerThatExitsAtStartFailsTheDeploymentWithItsExitCodeAndLogsAndIsRemoved()
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name = "crasher",
            inferenceUrl = "/cgi-bin/env",
            containerImage = DockerFixture.CgiImage,
            containerArgs = "sh -c 'echo loading weights; echo CUDA out of memory >&2; exit 3'",
        });
        await Http.DeployAsync(function);

        var failed = await Http.WaitForStatusAsync(function, Timeout, "ERROR");

        var error = (string?)failed["healthInfo"]![0]!["error"];
        Assert.Contains("exited with code 3 before its health check passed", error);
        Assert.Contains("CUDA out of memory", error);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        var version = await Http.GetStringAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal("ERROR", (string?)JsonNode.Parse(version)!["function"]!["status"]);
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task AHealthCheckThatNeverPassesFailsTheDeploymentAfterTheReadyTimeout()
    {
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?> { ["Emulator:ReadyTimeout"] = "00:00:03" });
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new
        {
            name = "never-healthy",
            inferenceUrl = "/cgi-bin/env",
            containerImage = DockerFixture.CgiImage,
            health = new { protocol = "HTTP", uri = "/not-there", port = 8000, timeout = "PT1S", expectedStatusCode = 200 },
        });
        await http.DeployAsync(function);

        var failed = await http.WaitForStatusAsync(function, Timeout, "ERROR");

        var error = (string?)failed["healthInfo"]![0]!["error"];
        Assert.Contains("did not pass within 00:00:03", error);
        Assert.Contains("GET /not-there answered 404, expected 200", error);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
    }

    [Fact]
    public async Task TheContainerReadsItsSecretsFromVarSecretsAndSeesAnUpdateWithoutARedeploy()
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name = "cgi-secrets",
            inferenceUrl = "/cgi-bin/secrets",
            containerImage = DockerFixture.CgiImage,
            secrets = new object[] { new { name = "API_KEY", value = "s3cret" }, new { name = "CONFIG", value = new { region = "local", retries = 3 } } },
        });
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        var first = await SecretsSeenAsync(function);
        Assert.Equal("s3cret", (string?)first["API_KEY"]);
        Assert.Equal(3, (int?)first["CONFIG"]!["retries"]); // a JSON object stays an object

        using var update = await Http.PutAsJsonAsync(
            $"/v2/nvcf/secrets/functions/{function.Id()}/versions/{function.VersionId()}", new { secrets = new[] { new { name = "API_KEY", value = "rotated" } } });
        Assert.Equal(HttpStatusCode.NoContent, update.StatusCode);

        var second = await SecretsSeenAsync(function);
        Assert.Equal("rotated", (string?)second["API_KEY"]);
        Assert.Equal("local", (string?)second["CONFIG"]!["region"]);
        Assert.Single(await docker.ContainersOfAsync(function.Id())); // the same container: no redeploy
        await Http.UndeployAsync(function);
    }

    private async Task<JsonObject> SecretsSeenAsync(JsonObject function)
    {
        using var response = await Http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task WithHostNetworkingTheContainerListensOnTheHostsOwnPort()
    {
        // For engines started without a bridge (--bridge=none), as on GPU machines without iptables.
        var port = FreePort();
        await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?> { ["Emulator:Docker:NetworkMode"] = "host" });
        using var http = emulator.CreateNvcfClient();
        var function = await http.CreateFunctionAsync(new
        {
            name = "host-network",
            inferenceUrl = "/cgi-bin/env",
            inferencePort = port,
            containerImage = DockerFixture.CgiImage,
            containerArgs = $"httpd -f -p {port} -h /www",
        });
        await http.DeployAsync(function);
        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var response = await http.InvokeAsync(function.Id(), "{}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var container = Assert.Single(await docker.ContainersOfAsync(function.Id()));
        Assert.Equal("host", container.HostConfig.NetworkMode);
        Assert.Empty(container.Ports);
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task AnInstanceKilledBehindTheEmulatorsBackIsReplaced()
    {
        var function = await Http.CreateFunctionAsync(new { name = "killed", inferenceUrl = "/echo", containerImage = DockerFixture.EchoImage });
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        var first = Assert.Single(await docker.ContainersOfAsync(function.Id()));

        await docker.Docker.Containers.KillContainerAsync(first.ID, new ContainerKillParameters());

        var deadline = DateTime.UtcNow + Timeout;
        IList<ContainerListResponse> containers;
        do
        {
            await Task.Delay(100);
            containers = await docker.ContainersOfAsync(function.Id());
            Assert.True(DateTime.UtcNow < deadline, "No replacement container was started.");
        }
        while (!containers.Any(c => c.ID != first.ID && c.State == "running"));

        Assert.DoesNotContain(containers, c => c.ID == first.ID);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        using var response = await Http.InvokeAsync(function.Id(), """{"after":"restart"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task ContainersLeftByAGoneEmulatorAreReapedAtStartAndOthersAndDurableOnesAreLeftAlone()
    {
        var gone = new EmulatorProcess(EmulatorProcess.Current.Host, 4_194_000, 1).ToString();
        var stale = await docker.CreateSleeperAsync(new() { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = gone });
        var foreign = await docker.CreateSleeperAsync(new() { ["purpose"] = "not the emulator's" });
        var durable = await docker.CreateSleeperAsync(new() { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = gone, [ContainerLabels.State] = "a-redis-store" });
        try
        {
            await using var emulator = new EmulatorFactory(settings: new Dictionary<string, string?>());
            using var http = emulator.CreateNvcfClient();
            using var _ = await http.GetAsync("/v2/nvcf/functions");

            await Assert.ThrowsAsync<global::Docker.DotNet.DockerContainerNotFoundException>(
                () => docker.Docker.Containers.InspectContainerAsync(stale));
            Assert.True((await docker.Docker.Containers.InspectContainerAsync(foreign)).State?.Running);
            Assert.True((await docker.Docker.Containers.InspectContainerAsync(durable)).State?.Running); // waits for its store's next emulator
        }
        finally
        {
            await docker.Docker.Containers.RemoveContainerAsync(foreign, new ContainerRemoveParameters { Force = true });
            await docker.Docker.Containers.RemoveContainerAsync(durable, new ContainerRemoveParameters { Force = true });
            try
            {
                await docker.Docker.Containers.RemoveContainerAsync(stale, new ContainerRemoveParameters { Force = true });
            }
            catch (global::Docker.DotNet.DockerContainerNotFoundException)
            {
            }
        }
    }

    [Fact]
    public async Task ProgressWrittenByTheContainerIsPolledAndItsLargeOutputsComeZippedBehindA302()
    {
        var function = await Http.CreateFunctionAsync(new
        {
            name = "progress",
            inferenceUrl = "/cgi-bin/progress",
            containerImage = DockerFixture.CgiImage,
        });
        await Http.DeployAsync(function);
        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var first = await Http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("50", first.Header("NVCF-PERCENT-COMPLETE"));
        Assert.Equal("""{"step":"halfway"}""", await first.Content.ReadAsStringAsync());
        var requestId = first.Header("NVCF-REQID");

        HttpResponseMessage final;
        do
        {
            final = await Http.GetAsync($"/v2/nvcf/pexec/status/{requestId}");
        }
        while (final.StatusCode == HttpStatusCode.Accepted);

        Assert.Equal(HttpStatusCode.Found, final.StatusCode);
        using var zip = new System.IO.Compression.ZipArchive(await Http.GetStreamAsync(final.Headers.Location!.PathAndQuery));
        Assert.Equal(
            [requestId + ".response", "result.txt"],
            zip.Entries.Select(e => e.FullName).Order());
        using var body = new StreamReader(zip.GetEntry(requestId + ".response")!.Open());
        Assert.Equal("""{"done":true,"assetDir":"present"}""", await body.ReadToEndAsync());
        final.Dispose();
        await Http.UndeployAsync(function);
    }

    [Fact]
    public async Task InputAssetsAppearInTheRequestsAssetFolder()
    {
        var function = await Http.CreateFunctionAsync(new { name = "assets", inferenceUrl = "/cgi-bin/assets", containerImage = DockerFixture.CgiImage });
        await Http.DeployAsync(function);
        var ids = new List<string>();
        foreach (var text in new[] { "first asset", "second asset" })
        {
            using var created = await Http.PostAsJsonAsync("/v2/nvcf/assets", new { contentType = "text/plain", description = text });
            var asset = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
            using var upload = await Http.PutAsync(new Uri((string)asset["uploadUrl"]!).PathAndQuery, new StringContent(text));
            Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
            ids.Add((string)asset["assetId"]!);
        }

        await Http.WaitForStatusAsync(function, Timeout, "ACTIVE");
        using var response = await Http.InvokeAsync(function.Id(), "{}", configure: r => r.Headers.Add("NVCF-INPUT-ASSET-REFERENCES", string.Join(",", ids)));

        var listing = await response.Content.ReadAsStringAsync();
        Assert.Contains($"asset ids: {ids[0]},{ids[1]}", listing);
        Assert.Contains($"{ids[0]}: first asset", listing);
        Assert.Contains($"{ids[1]}: second asset", listing);
        await Http.UndeployAsync(function);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
