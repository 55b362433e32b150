using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// Reads a request's large-output folder without trusting it. The folder is shared with the function's container,
/// which may leave symbolic links (to a file or a folder), device nodes or FIFOs there, or swap a folder for a link
/// while the emulator reads it. Only regular files are read: each is opened without following a link in its last
/// component (<c>O_NOFOLLOW</c>), checked to be a regular file on the opened descriptor, and checked, where the
/// system tells (<c>/proc/self/fd</c>), to lie inside the folder; links are never followed into folders. Anything else
/// is skipped and reported.
/// </summary>
public static class OutputFolder
{
    /// <summary>A regular file of the folder, opened: its name relative to the folder (with '/') and its content.</summary>
    public sealed record Entry(string Name, Stream Content);

    /// <summary>
    /// The regular files under <paramref name="folder"/>, except those <paramref name="exclude"/> names; each one skipped
    /// goes to <paramref name="skipped"/> with the reason. The caller disposes each <see cref="Entry.Content"/>.
    /// </summary>
    public static IEnumerable<Entry> RegularFiles(string folder, Func<string, bool> exclude, Action<string, string> skipped)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Large outputs are read on the Docker engine's host, Linux or macOS.");
        }

        if (!IsDirectory(folder))
        {
            if (Exists(folder))
            {
                skipped(".", "the output folder is not a folder");
            }

            yield break;
        }

        // The parent is the emulator's own (a mount point in the container), so its real path is fixed; the
        // request's folder is expected right under it.
        var root = Path.Combine(RealPath(Path.GetDirectoryName(Path.GetFullPath(folder))!), Path.GetFileName(folder)) + "/";
        var pending = new Stack<string>([string.Empty]);
        while (pending.TryPop(out var relative))
        {
            string[] entries;
            try
            {
                entries = Directory.GetFileSystemEntries(Path.Combine(folder, relative));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                skipped(relative, e.Message);
                continue;
            }

            foreach (var path in entries.Order(StringComparer.Ordinal))
            {
                var name = Path.Combine(relative, Path.GetFileName(path)).Replace(Path.DirectorySeparatorChar, '/');
                if (exclude(name))
                {
                    continue;
                }

                if (Syscall.lstat(path, out var entry) != 0)
                {
                    skipped(name, Stdlib.GetLastError().ToString());
                    continue;
                }

                switch (entry.st_mode & FilePermissions.S_IFMT)
                {
                    case FilePermissions.S_IFDIR:
                        pending.Push(name);
                        continue;
                    case FilePermissions.S_IFREG:
                        break;
                    case FilePermissions.S_IFLNK:
                        skipped(name, "a symbolic link");
                        continue;
                    default:
                        skipped(name, "not a regular file");
                        continue;
                }

                if (Open(path, root, out var reason) is { } content)
                {
                    yield return new Entry(name, content);
                }
                else
                {
                    skipped(name, reason!);
                }
            }
        }
    }

    /// <summary>Opens a regular file inside <paramref name="root"/>, never through a link; null with the reason otherwise.</summary>
    private static FileStream? Open(string path, string root, out string? reason)
    {
        var descriptor = Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC);
        if (descriptor < 0)
        {
            var error = Stdlib.GetLastError();
            reason = error == Errno.ELOOP ? "a symbolic link" : error.ToString();
            return null;
        }

        var handle = new SafeFileHandle(descriptor, ownsHandle: true);
        if (Syscall.fstat(descriptor, out var opened) != 0 || (opened.st_mode & FilePermissions.S_IFMT) != FilePermissions.S_IFREG)
        {
            handle.Dispose();
            reason = "not a regular file";
            return null;
        }

        // A folder on the way may have been swapped for a link since it was listed: the descriptor tells where the
        // file really is.
        if (DescriptorPath(descriptor) is { } actual && !actual.StartsWith(root, StringComparison.Ordinal))
        {
            handle.Dispose();
            reason = "outside the output folder";
            return null;
        }

        reason = null;
        return new FileStream(handle, FileAccess.Read);
    }

    /// <summary>Where a folder really is (links on the way resolved), as the descriptors of its files will say.</summary>
    private static string RealPath(string folder)
    {
        var descriptor = Syscall.open(folder, OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
        if (descriptor < 0)
        {
            return folder;
        }

        using var handle = new SafeFileHandle(descriptor, ownsHandle: true);
        return DescriptorPath(descriptor) ?? folder;
    }

    /// <summary>The path of an open descriptor, where the system tells it (<c>/proc/self/fd</c>); else null.</summary>
    private static string? DescriptorPath(int descriptor) => new FileInfo($"/proc/self/fd/{descriptor}").LinkTarget;

    private static bool IsDirectory(string path) =>
        Syscall.lstat(path, out var status) == 0 && (status.st_mode & FilePermissions.S_IFMT) == FilePermissions.S_IFDIR;

    private static bool Exists(string path) => Syscall.lstat(path, out _) == 0;
}
