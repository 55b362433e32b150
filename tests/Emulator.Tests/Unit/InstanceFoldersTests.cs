using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Tests.Unit;

public sealed class InstanceFoldersTests : IDisposable
{
    private readonly string _root = Path.Combine(Directory.CreateTempSubdirectory("nvcf-folders-").FullName, "instance");

    [Fact]
    public void EachRequestGetsEmptyFoldersOfItsOwnNameThatAreGoneOnceItIsOver()
    {
        var folders = new InstanceFolders(_root);
        folders.Create();
        var seen = new HashSet<string>();

        for (var i = 0; i < 300; i++)
        {
            var requestId = Guid.NewGuid();
            var request = folders.ForRequest(requestId);

            Assert.Equal(Path.Combine(folders.InputAssets, requestId.ToString()), request.InputAssets);
            Assert.Equal(Path.Combine(folders.Response, requestId.ToString()), request.Response);
            Assert.Empty(Directory.EnumerateFileSystemEntries(request.InputAssets));
            Assert.Empty(Directory.EnumerateFileSystemEntries(request.Response));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.OtherWrite, File.GetUnixFileMode(request.Response) & UnixFileMode.OtherWrite);
            }

            seen.Add(request.Response);

            // Some requests leave files behind: a progress report, an output, an asset.
            if (i % 3 == 0)
            {
                File.WriteAllText(request.ProgressPath, "{}");
            }
            else if (i % 3 == 1)
            {
                File.WriteAllText(Path.Combine(request.Response, "output.bin"), "large");
                File.WriteAllText(Path.Combine(request.InputAssets, Guid.NewGuid().ToString()), "asset");
            }

            request.Release();
            Assert.False(Directory.Exists(request.InputAssets));
            Assert.False(Directory.Exists(request.Response));
        }

        // What is left is spares, each empty, and not one of them under a request's name.
        foreach (var parent in new[] { folders.InputAssets, folders.Response })
        {
            var left = Directory.GetDirectories(parent);
            Assert.All(left, spare => Assert.StartsWith(".spare-", Path.GetFileName(spare), StringComparison.Ordinal));
            Assert.All(left, spare => Assert.Empty(Directory.EnumerateFileSystemEntries(spare)));
            Assert.Empty(Directory.GetFiles(parent));
        }
    }

    [Fact]
    public async Task RequestsAtOnceEachGetTheirOwnEmptyFolders()
    {
        var folders = new InstanceFolders(_root);
        folders.Create();

        await Parallel.ForAsync(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, (i, _) =>
        {
            var request = folders.ForRequest(Guid.NewGuid());
            Assert.Empty(Directory.EnumerateFileSystemEntries(request.Response));
            File.WriteAllText(Path.Combine(request.Response, "mine"), request.Response);
            Assert.Equal(request.Response, File.ReadAllText(Path.Combine(request.Response, "mine")));
            File.Delete(Path.Combine(request.Response, "mine"));
            request.Release();
            return ValueTask.CompletedTask;
        });

        Assert.All(Directory.GetDirectories(folders.Response), spare => Assert.StartsWith(".spare-", Path.GetFileName(spare), StringComparison.Ordinal));
    }

    /// <summary>Removes the folders; spares may still be being made in the background at first.</summary>
    public void Dispose()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(Path.GetDirectoryName(_root)!, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(50);
            }
        }
    }
}
