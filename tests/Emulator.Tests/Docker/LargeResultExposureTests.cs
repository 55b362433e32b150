using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// What a function leaves in its large-output folder reaches the result only as regular files of that folder, and
/// the result and asset URLs are pre-signed: no URL without its signature, none past its expiry.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class LargeResultExposureTests : IAsyncLifetime
{
    private static readonly TimeSpan Retention = TimeSpan.FromSeconds(6);
    private readonly string _workDirectory = Directory.CreateTempSubdirectory("nvcf-exposure-").FullName;
    private EmulatorFactory _emulator = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _emulator = new EmulatorFactory(settings: new Dictionary<string, string?>
        {
            ["Emulator:ReadyTimeout"] = "00:01:00",
            ["Emulator:WorkDirectory"] = _workDirectory,
            ["Emulator:LargeResultRetention"] = Retention.ToString(),
            ["Emulator:AssetUploadUrlLifetime"] = "00:00:02",
        });
        _http = _emulator.CreateNvcfClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
        try
        {
            Directory.Delete(_workDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Files a container's user left unremovable stay with the temporary folder.
        }
    }

    [Fact]
    public async Task TheZipHoldsOnlyTheRegularFilesAndItsUrlIsSignedAndExpires()
    {
        var function = await _http.CreateFunctionAsync(new { name = "links", inferenceUrl = "/cgi-bin/links", containerImage = await TestImages.CgiScriptsAsync() });
        await _http.DeployAsync(function);
        await _http.WaitForStatusAsync(function, TimeSpan.FromMinutes(1), "ACTIVE");

        using var invoked = await _http.InvokeAsync(function.Id(), "{}");
        Assert.Equal(HttpStatusCode.Found, invoked.StatusCode);
        var requestId = invoked.Header("NVCF-REQID");
        var location = invoked.Headers.Location!.OriginalString;

        using var anonymous = _emulator.CreateClient();
        using (var download = await anonymous.GetAsync(location))
        {
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            using var zip = new ZipArchive(await download.Content.ReadAsStreamAsync());
            Assert.Equal([$"{requestId}.response", "nested/inner.txt", "result.txt"], zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal));
            using var inner = new StreamReader(zip.GetEntry("nested/inner.txt")!.Open());
            Assert.Equal("a nested result\n", await inner.ReadToEndAsync());
        }

        var path = location[..location.IndexOf('?', StringComparison.Ordinal)];
        await (await anonymous.GetAsync(path)).ProblemAsync(HttpStatusCode.Forbidden);
        await (await anonymous.GetAsync(location[..^1] + (location[^1] == '0' ? '1' : '0'))).ProblemAsync(HttpStatusCode.Forbidden);
        var later = location.Replace("expires=", "expires=9", StringComparison.Ordinal);
        await (await anonymous.GetAsync(later)).ProblemAsync(HttpStatusCode.Forbidden);

        await Task.Delay(Retention + TimeSpan.FromSeconds(1.5));
        var expired = await (await anonymous.GetAsync(location)).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.StartsWith("Request has expired", (string?)expired["detail"], StringComparison.Ordinal);
        await _http.UndeployAsync(function);
    }

    [Fact]
    public async Task AnAssetUploadUrlIsSignedAndExpires()
    {
        using var created = await _http.PostAsJsonAsync("/v2/nvcf/assets", new { contentType = "text/plain", description = "a prompt" });
        var uploadUrl = new Uri((string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["uploadUrl"]!);
        using var anonymous = _emulator.CreateClient();

        await (await anonymous.PutAsync(uploadUrl.AbsolutePath, new StringContent("x"))).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PutAsync(uploadUrl.PathAndQuery, new StringContent("in time"))).StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(3.5));
        var expired = await (await anonymous.PutAsync(uploadUrl.PathAndQuery, new StringContent("too late"))).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.StartsWith("Request has expired", (string?)expired["detail"], StringComparison.Ordinal);
    }
}
