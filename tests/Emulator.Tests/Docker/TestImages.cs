using System.Security.Cryptography;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// The busybox test function with this checkout's CGI scripts laid over <see cref="DockerFixture.CgiImage"/>, tagged
/// by their content: a test that needs a script added here runs without waiting for <c>eng/setup.sh</c> to rebuild
/// the shared image, and never changes that image.
/// </summary>
public static class TestImages
{
    private static readonly SemaphoreSlim Building = new(1, 1);
    private static string? _cgiScripts;

    public static async Task<string> CgiScriptsAsync()
    {
        await Building.WaitAsync();
        try
        {
            if (_cgiScripts is not null)
            {
                return _cgiScripts;
            }

            var context = Path.Combine(RepositoryRoot(), "tests", "images", "busybox-cgi");
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var script in Directory.GetFiles(Path.Combine(context, "www", "cgi-bin")).Order(StringComparer.Ordinal))
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(script)));
                hash.AppendData(await File.ReadAllBytesAsync(script));
            }

            var tag = $"nvcf-test/busybox-cgi-scripts:{Convert.ToHexStringLower(hash.GetHashAndReset())[..12]}";
            await Infrastructure.Command.RunAsync(
                "docker",
                ["build", "--quiet", "--tag", tag, "--file", "-", context],
                input: $"FROM {DockerFixture.CgiImage}\nUSER 0\nCOPY www/cgi-bin /www/cgi-bin\nRUN chmod 755 /www/cgi-bin/*\nUSER 1000:1000\n");
            return _cgiScripts = tag;
        }
        finally
        {
            Building.Release();
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Emulator.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No Emulator.sln above {AppContext.BaseDirectory}.");
    }
}
