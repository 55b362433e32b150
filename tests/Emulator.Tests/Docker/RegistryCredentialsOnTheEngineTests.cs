using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// Pulls from a registry that asks for credentials, on the real engine: a registry run by the test on this machine's
/// loopback, serving the busybox test function, with no credential, with a stored registry credential, and with the
/// Docker client's own <c>config.json</c>.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class RegistryCredentialsOnTheEngineTests(DockerFixture docker) : IAsyncLifetime
{
    private const string User = "puller";
    private const string Password = "s3cret-pw";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private readonly string _dockerConfig = Directory.CreateTempSubdirectory("nvcf-docker-config-").FullName;
    private readonly List<string> _pulled = [];
    private TestRegistry _registry = null!;

    public async Task InitializeAsync() => _registry = await TestRegistry.StartAsync(docker.Docker, DockerFixture.CgiImage, User, Password);

    public async Task DisposeAsync()
    {
        foreach (var image in _pulled)
        {
            try
            {
                // Only the test's own tag goes: the image's content is the shared test image's.
                await docker.Docker.Images.DeleteImageAsync(image, new ImageDeleteParameters());
            }
            catch (DockerImageNotFoundException)
            {
            }
        }

        await _registry.DisposeAsync();
        Directory.Delete(_dockerConfig, recursive: true);
    }

    [Fact]
    public async Task APullRefusedForCredentialsFailsTheDeploymentNamingTheRegistryAndHowToLogIn()
    {
        await using var emulator = Emulator();
        using var http = emulator.CreateNvcfClient();
        var image = Image();
        var function = await http.CreateFunctionAsync(new { name = "private-image", inferenceUrl = "/cgi-bin/env", containerImage = image });
        await http.DeployAsync(function);

        var failed = await http.WaitForStatusAsync(function, Timeout, "ERROR");

        var error = (string?)failed["healthInfo"]![0]!["error"];
        Assert.StartsWith($"Pulling image '{image}' from registry '{_registry.Host}' was refused (no credentials were found for it): ", error);
        Assert.Contains("no basic auth credentials", error);
        Assert.Contains($"Store a credential for '{_registry.Host}' with POST /v2/nvcf/registry-credentials, or run `docker login {_registry.Host}`", error);
        Assert.Equal(0, _registry.AuthorizedPulls);
        Assert.Empty(await docker.ContainersOfAsync(function.Id()));
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task AWrongStoredCredentialFailsTheDeploymentSayingWhichCredentialWasSent()
    {
        await using var emulator = Emulator();
        using var http = emulator.CreateNvcfClient();
        using var stored = await http.PostAsJsonAsync("/v2/nvcf/registry-credentials", new
        {
            registryHostname = _registry.Host,
            secret = new { name = "stale-key", value = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:not-the-password")) },
            artifactTypes = new[] { "CONTAINER" },
        });
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        var image = Image();
        var function = await http.CreateFunctionAsync(new { name = "private-image", inferenceUrl = "/cgi-bin/env", containerImage = image });
        await http.DeployAsync(function);

        var failed = await http.WaitForStatusAsync(function, Timeout, "ERROR");

        var error = (string?)failed["healthInfo"]![0]!["error"];
        Assert.StartsWith($"Pulling image '{image}' from registry '{_registry.Host}' was refused (the credentials of registry credential 'stale-key' (", error);
        Assert.DoesNotContain("not-the-password", error);
        Assert.Equal(0, _registry.AuthorizedPulls);
        await http.UndeployAsync(function);
    }

    [Fact]
    public async Task AStoredRegistryCredentialIsSentWithThePullAndTheFunctionServes()
    {
        await using var emulator = Emulator();
        using var http = emulator.CreateNvcfClient();
        using var stored = await http.PostAsJsonAsync("/v2/nvcf/registry-credentials", new
        {
            registryHostname = _registry.Host,
            secret = new { name = "test-registry", value = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")) },
            artifactTypes = new[] { "CONTAINER" },
        });
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        var credentialId = (string)(await stored.Content.ReadFromJsonAsync<JsonObject>())!["registryCredential"]!["registryCredentialId"]!;

        var function = await http.CreateFunctionAsync(new { name = "private-image", inferenceUrl = "/cgi-bin/env", containerImage = Image() });
        await http.DeployAsync(function);
        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var response = await http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"NVCF_FUNCTION_ID={function.Id()}", await response.Content.ReadAsStringAsync());
        Assert.True(_registry.AuthorizedPulls > 0);

        // In use while the function exists (400), deleted once it is gone (204).
        using var inUse = await http.DeleteAsync($"/v2/nvcf/registry-credentials/{credentialId}");
        Assert.Contains("Cannot be deleted as it is in use by Function id", (string?)(await inUse.ProblemAsync(HttpStatusCode.BadRequest))["detail"]);
        await http.UndeployAsync(function);
        using var deletedVersion = await http.DeleteAsync($"/v2/nvcf/functions/{function.Id()}/versions/{function.VersionId()}");
        Assert.Equal(HttpStatusCode.NoContent, deletedVersion.StatusCode);
        using var deleted = await http.DeleteAsync($"/v2/nvcf/registry-credentials/{credentialId}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task WithNoStoredCredentialTheDockerClientConfigAuthsAreUsed()
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));
        await File.WriteAllTextAsync(
            Path.Combine(_dockerConfig, "config.json"),
            new JsonObject { ["auths"] = new JsonObject { [$"http://{_registry.Host}"] = new JsonObject { ["auth"] = auth } } }.ToJsonString());
        await using var emulator = Emulator();
        using var http = emulator.CreateNvcfClient();

        var function = await http.CreateFunctionAsync(new { name = "private-image", inferenceUrl = "/cgi-bin/env", containerImage = Image() });
        await http.DeployAsync(function);
        await http.WaitForStatusAsync(function, Timeout, "ACTIVE");

        using var response = await http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(_registry.AuthorizedPulls > 0);
        await http.UndeployAsync(function);
    }

    /// <summary>An emulator whose Docker client configuration is the test's own folder (empty unless a test writes it).</summary>
    private EmulatorFactory Emulator() =>
        new(settings: new Dictionary<string, string?>
        {
            ["Emulator:ReadyTimeout"] = "00:01:00",
            ["Emulator:Docker:ConfigDirectory"] = _dockerConfig,
        });

    private string Image()
    {
        var image = _registry.NewImage();
        _pulled.Add(image);
        return image;
    }
}
