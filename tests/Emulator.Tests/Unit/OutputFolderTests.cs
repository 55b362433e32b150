using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Tests.Unit;

public class OutputFolderTests
{
    [Fact]
    public async Task OnlyTheRegularFilesInsideTheFolderAreRead()
    {
        var parent = Directory.CreateTempSubdirectory("nvcf-output-").FullName;
        var folder = Path.Combine(parent, "request");
        Directory.CreateDirectory(Path.Combine(folder, "nested"));
        await File.WriteAllTextAsync(Path.Combine(folder, "result.txt"), "result");
        await File.WriteAllTextAsync(Path.Combine(folder, "nested", "inner.txt"), "inner");
        File.CreateSymbolicLink(Path.Combine(folder, "host-file"), "/etc/passwd");
        Directory.CreateSymbolicLink(Path.Combine(folder, "host-folder"), "/etc");
        Directory.CreateSymbolicLink(Path.Combine(folder, "nested", "host-folder"), "/etc");
        await Infrastructure.Command.RunAsync("mkfifo", [Path.Combine(folder, "pipe")]);
        var skipped = new List<string>();

        var read = await Task.Run(() => OutputFolder.RegularFiles(folder, _ => false, (name, reason) => skipped.Add($"{name}: {reason}"))
            .Select(e => { using (e.Content) { return e.Name; } }).ToList()).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["nested/inner.txt", "result.txt"], read.Order(StringComparer.Ordinal));
        Assert.Equal(["host-file: a symbolic link", "host-folder: a symbolic link", "nested/host-folder: a symbolic link", "pipe: not a regular file"], skipped.Order(StringComparer.Ordinal));
        Directory.Delete(parent, recursive: true);
    }
}
