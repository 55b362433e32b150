using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Tests.Unit;

/// <summary>Which credentials a pull sends: a stored registry credential, else the Docker client's configuration.</summary>
public sealed class RegistryAuthTests : IDisposable
{
    private const string Account = "local-nca-id";

    private readonly string _config = Directory.CreateTempSubdirectory("nvcf-docker-config-").FullName;
    private readonly InMemoryFunctionStore _store = new();
    private readonly RegistryAuth _auth;

    public RegistryAuthTests() =>
        _auth = new RegistryAuth(_store, Options.Create(new DockerRuntimeOptions { ConfigDirectory = _config }), NullLogger<RegistryAuth>.Instance);

    public void Dispose() => Directory.Delete(_config, recursive: true);

    [Fact]
    public async Task WithoutStoredCredentialsOrAConfigFileThePullIsAnonymous() =>
        Assert.Null(await _auth.ResolveAsync("nvcr.io/org/image:1", Account, CancellationToken.None));

    [Fact]
    public async Task TheNewestStoredCredentialForTheImagesRegistryWinsOverTheConfigFile()
    {
        WriteConfig(new JsonObject { ["auths"] = new JsonObject { ["nvcr.io"] = new JsonObject { ["auth"] = Base64("from:config") } } });
        await _store.SaveRegistryCredentialAsync(Credential("nvcr.io", "$oauthtoken:old-key", DateTime.UtcNow.AddMinutes(-1)));
        await _store.SaveRegistryCredentialAsync(Credential("nvcr.io", "$oauthtoken:new-key", DateTime.UtcNow));
        await _store.SaveRegistryCredentialAsync(Credential("docker.io", "other:registry", DateTime.UtcNow.AddMinutes(1)));

        var (auth, source) = (await _auth.ResolveAsync("nvcr.io/org/image:1", Account, CancellationToken.None))!.Value;

        Assert.Equal("$oauthtoken", auth.Username);
        Assert.Equal("new-key", auth.Password);
        Assert.Equal("nvcr.io", auth.ServerAddress);
        Assert.StartsWith("registry credential", source);
    }

    [Fact]
    public async Task AnotherAccountsCredentialIsNeverSentTheConfigFileIsUsedInstead()
    {
        WriteConfig(new JsonObject { ["auths"] = new JsonObject { ["nvcr.io"] = new JsonObject { ["auth"] = Base64("from:config") } } });
        await _store.SaveRegistryCredentialAsync(Credential("nvcr.io", "$oauthtoken:b-key", DateTime.UtcNow) with { NcaId = "nca-b" });

        var (auth, source) = (await _auth.ResolveAsync("nvcr.io/org/image:1", Account, CancellationToken.None))!.Value;
        Assert.Equal("from", auth.Username);
        Assert.Equal(Path.Combine(_config, "config.json"), source);

        var (own, ownSource) = (await _auth.ResolveAsync("nvcr.io/org/image:1", "nca-b", CancellationToken.None))!.Value;
        Assert.Equal("b-key", own.Password);
        Assert.StartsWith("registry credential", ownSource);
    }

    [Theory]
    [InlineData("busybox", "https://index.docker.io/v1/")]
    [InlineData("docker.io/library/busybox:1.36", "docker.io")]
    [InlineData("localhost:5000/team/app:2", "http://localhost:5000")]
    [InlineData("registry.example.com/app", "https://registry.example.com/v2/")]
    public async Task TheConfigFilesAuthsEntryForTheRegistryIsUsedWhateverTheKeysScheme(string image, string key)
    {
        WriteConfig(new JsonObject { ["auths"] = new JsonObject { [key] = new JsonObject { ["auth"] = Base64("me:pass:word") } } });

        var (auth, source) = (await _auth.ResolveAsync(image, Account, CancellationToken.None))!.Value;

        Assert.Equal("me", auth.Username);
        Assert.Equal("pass:word", auth.Password);
        Assert.Equal(Path.Combine(_config, "config.json"), source);
    }

    [Fact]
    public async Task AnIdentityTokenIsSentAsOne()
    {
        WriteConfig(new JsonObject { ["auths"] = new JsonObject { ["myregistry.azurecr.io"] = new JsonObject { ["identitytoken"] = "refresh-token" } } });

        var (auth, _) = (await _auth.ResolveAsync("myregistry.azurecr.io/app:1", Account, CancellationToken.None))!.Value;

        Assert.Equal("refresh-token", auth.IdentityToken);
        Assert.Null(auth.Password);
    }

    [Fact]
    public async Task AnotherRegistrysEntryIsNotSent()
    {
        WriteConfig(new JsonObject { ["auths"] = new JsonObject { ["nvcr.io"] = new JsonObject { ["auth"] = Base64("a:b") } } });

        Assert.Null(await _auth.ResolveAsync("registry.example.com/app", Account, CancellationToken.None));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task ACredentialHelperIsAskedWithTheServerAddressOnStdin()
    {
        // A helper that answers for Docker Hub's address only, as docker-credential-* helpers do.
        var bin = Directory.CreateDirectory(Path.Combine(_config, "bin")).FullName;
        var helper = Path.Combine(bin, "docker-credential-nvcftest");
        await File.WriteAllTextAsync(helper, """
            #!/bin/sh
            read server
            case "$server" in
              https://index.docker.io/v1/) echo '{"ServerURL":"'"$server"'","Username":"hub-user","Secret":"hub-secret"}' ;;
              token.example.com) echo '{"ServerURL":"'"$server"'","Username":"<token>","Secret":"identity"}' ;;
              *) echo "credentials not found in native keychain" >&2; exit 1 ;;
            esac
            """.Replace("\r", string.Empty, StringComparison.Ordinal));
        File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteConfig(new JsonObject
        {
            ["credsStore"] = "nvcftest",
            ["credHelpers"] = new JsonObject { ["token.example.com"] = "nvcftest" },
            ["auths"] = new JsonObject { ["fallback.example.com"] = new JsonObject { ["auth"] = Base64("file:entry") } },
        });
        var path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", bin + Path.PathSeparator + path);
        try
        {
            var hub = (await _auth.ResolveAsync("busybox:1.36", Account, CancellationToken.None))!.Value.Auth;
            Assert.Equal(("hub-user", "hub-secret", "https://index.docker.io/v1/"), (hub.Username, hub.Password, hub.ServerAddress));

            var token = (await _auth.ResolveAsync("token.example.com/app", Account, CancellationToken.None))!.Value.Auth;
            Assert.Equal("identity", token.IdentityToken);

            // The helper knows nothing of this registry: the file's entry is used.
            var fallback = (await _auth.ResolveAsync("fallback.example.com/app", Account, CancellationToken.None))!.Value.Auth;
            Assert.Equal(("file", "entry"), (fallback.Username, fallback.Password));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }

    [Fact]
    public void TheConfigFolderIsTheSettingElseDockerConfigElseTheHomeFolders()
    {
        Assert.Equal("/configured", RegistryAuth.ConfigDirectory("/configured", "/from-env", "/home/u"));
        Assert.Equal("/from-env", RegistryAuth.ConfigDirectory(null, "/from-env", "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".docker"), RegistryAuth.ConfigDirectory(null, null, "/home/u"));
    }

    [Theory]
    [InlineData("busybox", "docker.io")]
    [InlineData("library/busybox:1.36", "docker.io")]
    [InlineData("index.docker.io/library/busybox", "docker.io")]
    [InlineData("nvcr.io/org/team/image:1", "nvcr.io")]
    [InlineData("localhost/app", "localhost")]
    [InlineData("127.0.0.1:5000/test/echo:1", "127.0.0.1:5000")]
    public void TheRegistryOfAnImageIsReadAsTheEngineReadsIt(string image, string registry) =>
        Assert.Equal(registry, RecognizedRegistries.RegistryOf(image));

    [Theory]
    [InlineData("Head \"http://127.0.0.1:5000/v2/test/echo/manifests/1\": no basic auth credentials", true)]
    [InlineData("unauthorized: authentication required", true)]
    [InlineData("pull access denied for nvcr.io/org/image, repository does not exist or may require 'docker login'", true)]
    [InlineData("Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host", false)]
    [InlineData("manifest for nvcr.io/org/image:2 not found: manifest unknown", false)]
    public void APullErrorIsRecognizedAsRefusedForCredentials(string engineMessage, bool refused) =>
        Assert.Equal(refused, DockerFunctionRuntime.IsRefusedForCredentials(engineMessage));

    [Fact]
    public void ARefusedNgcPullSaysToLogInWithOauthtokenAndAnApiKey()
    {
        var message = DockerFunctionRuntime.RefusedForCredentials("nvcr.io/org/image:1", "unauthorized: authentication required", source: null);

        Assert.Equal(
            "Pulling image 'nvcr.io/org/image:1' from registry 'nvcr.io' was refused (no credentials were found for it): unauthorized: authentication required. " +
            "Store a credential for 'nvcr.io' with POST /v2/nvcf/registry-credentials, or run `docker login nvcr.io` with user name `$oauthtoken` and an NGC API key as the password",
            message);
    }

    private void WriteConfig(JsonObject config) => File.WriteAllText(Path.Combine(_config, "config.json"), config.ToJsonString());

    private static RegistryCredential Credential(string hostname, string userAndPassword, DateTime updated) => new()
    {
        Id = Guid.NewGuid(),
        NcaId = Account,
        Name = "c-" + Guid.NewGuid().ToString("N")[..6],
        RegistryName = "r",
        Hostname = hostname,
        ArtifactTypes = [ArtifactType.Container],
        Secret = Base64(userAndPassword),
        CreatedAt = updated,
        LastUpdatedAt = updated,
    };

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
