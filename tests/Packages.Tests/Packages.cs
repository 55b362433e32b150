namespace Nvcf.Packages.Tests;

/// <summary>
/// Where <c>dotnet pack -c Release -o artifacts/packages</c> wrote the packages (<c>NVCF_PACKAGES</c> overrides it),
/// and what the tests need to use them as a user would.
/// </summary>
public static class Packages
{
    public const string ToolPackage = "Nvcf.Emulator";
    public const string HostingPackage = "Nvcf.Emulator.Hosting";

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Folder { get; } = Path.GetFullPath(
        Environment.GetEnvironmentVariable("NVCF_PACKAGES") is { Length: > 0 } folder ? folder : Path.Combine(RepositoryRoot, "artifacts", "packages"));

    /// <summary>The version of <paramref name="id"/> in <see cref="Folder"/>; fails, naming the fix, when it was not packed.</summary>
    public static string VersionOf(string id)
    {
        var prefix = id + ".";
        var versions = Directory.Exists(Folder)
            ? Directory.GetFiles(Folder, prefix + "*.nupkg")
                .Select(p => Path.GetFileNameWithoutExtension(p)[prefix.Length..])
                .Where(v => char.IsAsciiDigit(v[0])) // Nvcf.Emulator.Hosting.* also matches Nvcf.Emulator.*
                .ToList()
            : [];
        return versions.Count switch
        {
            1 => versions[0],
            0 => throw new InvalidOperationException(
                $"No {id} package in {Folder}. Pack first: dotnet pack -c Release -o artifacts/packages (eng/test.sh does)."),
            _ => throw new InvalidOperationException($"Several versions of {id} in {Folder} ({string.Join(", ", versions)}): empty the folder and pack again."),
        };
    }

    /// <summary>
    /// Removes <paramref name="id"/> at <paramref name="version"/> from NuGet's global packages folder, so that a restore
    /// takes the package just packed rather than an earlier pack of the same version.
    /// </summary>
    public static void ForgetCached(string id, string version)
    {
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Path.Combine(globalPackages, id.ToLowerInvariant(), version.ToLowerInvariant());
        if (Directory.Exists(cached))
        {
            Directory.Delete(cached, recursive: true);
        }
    }

    /// <summary>The busybox base that eng/setup.sh provides: the public image where present, else the local one.</summary>
    public static async Task<string> BusyboxBaseAsync()
    {
        var inspect = await ChildProcess.RunAsync("docker", ["image", "inspect", "busybox:1.36"], TimeSpan.FromSeconds(30));
        return inspect.ExitCode == 0 ? "busybox:1.36" : "nvcf-local/busybox:1.35";
    }

    private static string FindRepositoryRoot()
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
