using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>
/// The credentials a pull of an image sends to its registry (docs/nvcf-contract.md#registry-credentials): a registry
/// credential the function's account stored for that hostname (the newest), else what the Docker CLI would use: in
/// <c>config.json</c> of <see cref="DockerRuntimeOptions.ConfigDirectory"/> (<c>DOCKER_CONFIG</c>, <c>~/.docker</c>),
/// the registry's credential helper (<c>credHelpers</c>), the store (<c>credsStore</c>), then its <c>auths</c> entry
/// (<c>auth</c> as base64 <c>user:password</c>, or <c>identitytoken</c>). Null when there are none: an anonymous pull.
/// </summary>
public sealed class RegistryAuth(IFunctionStore store, IOptions<DockerRuntimeOptions> options, ILogger<RegistryAuth> logger)
{
    private static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the credentials for <paramref name="image"/> of a function of account <paramref name="ncaId"/> come from,
    /// and the credentials; null for none. Other accounts' credentials are never used.
    /// </summary>
    public async Task<(AuthConfig Auth, string Source)?> ResolveAsync(string image, string ncaId, CancellationToken cancellationToken)
    {
        var registry = RecognizedRegistries.RegistryOf(image);
        var stored = (await store.ListRegistryCredentialsAsync(cancellationToken))
            .Where(c => c.NcaId == ncaId && c.ArtifactTypes.Contains(ArtifactType.Container) && RecognizedRegistries.SameRegistry(c.Hostname, registry))
            .MaxBy(c => c.LastUpdatedAt);
        if (stored is not null)
        {
            var (username, password) = stored.Decode();
            return (new AuthConfig { Username = username, Password = password, ServerAddress = ServerAddress(registry) },
                $"registry credential '{stored.Name}' ({stored.Id})");
        }

        var directory = ConfigDirectory(options.Value.ConfigDirectory);
        return await FromDockerConfigAsync(directory, registry, cancellationToken) is { } auth
            ? (auth, $"{Path.Combine(directory, "config.json")}")
            : null;
    }

    /// <summary>The CLI's configuration folder: the setting, else <c>DOCKER_CONFIG</c>, else <c>~/.docker</c>.</summary>
    public static string ConfigDirectory(string? configured) =>
        ConfigDirectory(configured, Environment.GetEnvironmentVariable("DOCKER_CONFIG"), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    internal static string ConfigDirectory(string? configured, string? dockerConfigVariable, string home) =>
        configured is { Length: > 0 } ? configured
        : dockerConfigVariable is { Length: > 0 } ? dockerConfigVariable
        : Path.Combine(home, ".docker");

    /// <summary>How the CLI names a registry in <c>config.json</c> and to credential helpers.</summary>
    public static string ServerAddress(string registry) =>
        registry == RecognizedRegistries.DockerHub ? RecognizedRegistries.DockerHubConfigKey : registry;

    /// <summary>The credentials <c>config.json</c> in <paramref name="directory"/> gives for <paramref name="registry"/>.</summary>
    public async Task<AuthConfig?> FromDockerConfigAsync(string directory, string registry, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, "config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        JsonElement config;
        try
        {
            await using var file = File.OpenRead(path);
            config = (await JsonDocument.ParseAsync(file, cancellationToken: cancellationToken)).RootElement.Clone();
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            logger.DockerConfigUnreadable(path, e.Message);
            return null;
        }

        var serverAddress = ServerAddress(registry);
        var helper = Entry(config, "credHelpers", registry) is { ValueKind: JsonValueKind.String } named ? named.GetString()
            : config.TryGetProperty("credsStore", out var store) && store.ValueKind == JsonValueKind.String ? store.GetString()
            : null;
        if (helper is { Length: > 0 } && await FromHelperAsync(helper, serverAddress, cancellationToken) is { } fromHelper)
        {
            return fromHelper;
        }

        if (Entry(config, "auths", registry) is not { ValueKind: JsonValueKind.Object } entry)
        {
            return null;
        }

        if (entry.TryGetProperty("identitytoken", out var token) && token.GetString() is { Length: > 0 } identityToken)
        {
            return new AuthConfig { IdentityToken = identityToken, ServerAddress = serverAddress };
        }

        if (!entry.TryGetProperty("auth", out var encoded) || encoded.GetString() is not { Length: > 0 } auth)
        {
            return null;
        }

        try
        {
            var raw = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
            var colon = raw.IndexOf(':', StringComparison.Ordinal);
            return colon > 0
                ? new AuthConfig { Username = raw[..colon], Password = raw[(colon + 1)..], ServerAddress = serverAddress }
                : null;
        }
        catch (FormatException)
        {
            logger.DockerConfigUnreadable(path, $"the 'auth' of '{registry}' is not base64");
            return null;
        }
    }

    /// <summary>
    /// The value under <paramref name="section"/> for <paramref name="registry"/>: keys are written with or without a
    /// scheme and path (<c>https://index.docker.io/v1/</c>, <c>nvcr.io</c>, <c>http://localhost:5000</c>).
    /// </summary>
    private static JsonElement? Entry(JsonElement config, string section, string registry)
    {
        if (!config.TryGetProperty(section, out var entries) || entries.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in entries.EnumerateObject())
        {
            if (RecognizedRegistries.SameRegistry(HostOf(property.Name), registry))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static string HostOf(string key)
    {
        var host = key.Contains("://", StringComparison.Ordinal) ? key[(key.IndexOf("://", StringComparison.Ordinal) + 3)..] : key;
        host = host.Split('/')[0].ToLowerInvariant();
        return host is "index.docker.io" or "registry-1.docker.io" ? RecognizedRegistries.DockerHub : host;
    }

    /// <summary>
    /// <c>docker-credential-&lt;helper&gt; get</c> with the server address on stdin, as the CLI runs it; its answer is
    /// <c>{"Username": ..., "Secret": ...}</c>, where the user name <c>&lt;token&gt;</c> marks an identity token.
    /// </summary>
    private async Task<AuthConfig?> FromHelperAsync(string helper, string serverAddress, CancellationToken cancellationToken)
    {
        var program = "docker-credential-" + helper;
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, "get")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            await process.StandardInput.WriteAsync(serverAddress);
            process.StandardInput.Close();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(HelperTimeout);
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                logger.CredentialHelperFailed(program, $"no answer within {HelperTimeout.TotalSeconds:0} s");
                return null;
            }

            if (process.ExitCode != 0)
            {
                // "credentials not found in native keychain": nothing stored for this registry.
                logger.CredentialHelperFailed(program, (await error).Trim() is { Length: > 0 } message ? message : $"exit code {process.ExitCode}");
                return null;
            }

            using var answer = JsonDocument.Parse(await output);
            var username = answer.RootElement.TryGetProperty("Username", out var u) ? u.GetString() : null;
            var secret = answer.RootElement.TryGetProperty("Secret", out var s) ? s.GetString() : null;
            return string.IsNullOrEmpty(secret) ? null
                : username == "<token>" ? new AuthConfig { IdentityToken = secret, ServerAddress = serverAddress }
                : new AuthConfig { Username = username, Password = secret, ServerAddress = serverAddress };
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException or IOException or InvalidOperationException)
        {
            logger.CredentialHelperFailed(program, e.Message);
            return null;
        }
    }
}
