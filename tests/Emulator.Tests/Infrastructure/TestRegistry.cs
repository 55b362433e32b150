using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Nvcf.Emulator.Tests.Infrastructure;

/// <summary>
/// A Docker registry (distribution API v2) on <c>127.0.0.1:&lt;free port&gt;</c>, which the engine reaches over plain
/// HTTP as it does every loopback registry. It asks for Basic auth (401 with <c>WWW-Authenticate: Basic</c> otherwise)
/// and serves one image, <c>test/echo</c> under any tag: the content of a local image, taken with the engine's
/// <c>docker save</c>, as a schema 2 manifest, its config and gzipped layers.
/// </summary>
public sealed class TestRegistry : IAsyncDisposable
{
    public const string Repository = "test/echo";
    private const string ManifestType = "application/vnd.docker.distribution.manifest.v2+json";

    private readonly WebApplication _app;
    private readonly Dictionary<string, byte[]> _blobs;
    private readonly byte[] _manifest;
    private readonly string _manifestDigest;
    private readonly string _authorization;
    private int _authorizedPulls;

    private TestRegistry(WebApplication app, Dictionary<string, byte[]> blobs, byte[] manifest, string username, string password)
    {
        _app = app;
        _blobs = blobs;
        _manifest = manifest;
        _manifestDigest = Digest(manifest);
        _authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
    }

    /// <summary><c>127.0.0.1:port</c>: the registry's hostname, as image references and credentials name it.</summary>
    public string Host { get; private set; } = string.Empty;

    /// <summary>How many manifests were served to a client that sent the right credentials.</summary>
    public int AuthorizedPulls => Volatile.Read(ref _authorizedPulls);

    /// <summary>An image reference with a fresh tag, so each pull is new to the engine.</summary>
    public string NewImage() => $"{Host}/{Repository}:{Guid.NewGuid():N}";

    public static async Task<TestRegistry> StartAsync(DockerClient docker, string sourceImage, string username, string password)
    {
        var (blobs, manifest) = await ReadImageAsync(docker, sourceImage);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var registry = new TestRegistry(app, blobs, manifest, username, password);
        app.Use(registry.Serve);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        registry.Host = $"127.0.0.1:{address.Port}";
        return registry;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task Serve(HttpContext context, RequestDelegate next)
    {
        var response = context.Response;
        if (context.Request.Headers.Authorization.ToString() != _authorization)
        {
            response.StatusCode = StatusCodes.Status401Unauthorized;
            response.Headers.WWWAuthenticate = "Basic realm=\"nvcf-test-registry\"";
            response.ContentType = "application/json";
            await response.WriteAsync("""{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""");
            return;
        }

        var path = context.Request.Path.Value ?? string.Empty;
        var prefix = $"/v2/{Repository}/";
        byte[]? body = null;
        if (path is "/v2/" or "/v2")
        {
            body = "{}"u8.ToArray();
            response.ContentType = "application/json";
        }
        else if (path.StartsWith(prefix + "manifests/", StringComparison.Ordinal))
        {
            var reference = path[(prefix.Length + "manifests/".Length)..];
            if (!reference.StartsWith("sha256:", StringComparison.Ordinal) || reference == _manifestDigest)
            {
                body = _manifest;
                response.ContentType = ManifestType;
                response.Headers["Docker-Content-Digest"] = _manifestDigest;
                Interlocked.Increment(ref _authorizedPulls);
            }
        }
        else if (path.StartsWith(prefix + "blobs/", StringComparison.Ordinal) && _blobs.TryGetValue(path[(prefix.Length + "blobs/".Length)..], out var blob))
        {
            body = blob;
            response.ContentType = "application/octet-stream";
            response.Headers["Docker-Content-Digest"] = path[(prefix.Length + "blobs/".Length)..];
        }

        if (body is null)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        response.Headers["Docker-Distribution-Api-Version"] = "registry/2.0";
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(body);
        }
    }

    /// <summary>The image as the engine saves it (<c>manifest.json</c>, config, layer tars), made into registry blobs.</summary>
    private static async Task<(Dictionary<string, byte[]> Blobs, byte[] Manifest)> ReadImageAsync(DockerClient docker, string image)
    {
        // Read the whole tar first: the engine client's chunked stream does not bear the tar reader's reads at its end.
        using var tar = new MemoryStream();
        await using (var saved = await docker.Images.SaveImageAsync(image))
        {
            await saved.CopyToAsync(tar);
        }

        tar.Position = 0;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            var name = entry.Name.TrimStart('.', '/');
            if (entry.EntryType is TarEntryType.SymbolicLink)
            {
                links[name] = Path.GetFullPath(Path.Combine("/", Path.GetDirectoryName(name) ?? string.Empty, entry.LinkName)).TrimStart('/');
            }
            else if (entry.DataStream is { } data)
            {
                using var copy = new MemoryStream();
                await data.CopyToAsync(copy);
                files[name] = copy.ToArray();
            }
        }

        byte[] File(string name) => files.TryGetValue(name, out var bytes) ? bytes : files[links[name]];

        var saveManifest = JsonNode.Parse(File("manifest.json"))![0]!;
        var config = File((string)saveManifest["Config"]!);
        var blobs = new Dictionary<string, byte[]> { [Digest(config)] = config };
        var layers = new JsonArray();
        foreach (var layerPath in saveManifest["Layers"]!.AsArray().Select(l => (string)l!))
        {
            using var gzipped = new MemoryStream();
            await using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
            {
                await gzip.WriteAsync(File(layerPath));
            }

            var layer = gzipped.ToArray();
            blobs[Digest(layer)] = layer;
            layers.Add(new JsonObject
            {
                ["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip",
                ["size"] = layer.Length,
                ["digest"] = Digest(layer),
            });
        }

        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestType,
            ["config"] = new JsonObject
            {
                ["mediaType"] = "application/vnd.docker.container.image.v1+json",
                ["size"] = config.Length,
                ["digest"] = Digest(config),
            },
            ["layers"] = layers,
        };
        return (blobs, JsonSerializer.SerializeToUtf8Bytes(manifest));
    }

    private static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
}
