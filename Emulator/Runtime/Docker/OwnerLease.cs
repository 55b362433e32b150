namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>
/// An emulator process's claim on the containers it creates: a file under the work directory whose modification time
/// the process renews every <see cref="DockerRuntimeOptions.OwnerLeaseRenewal"/>. Its path is the containers' owner
/// label. The work directory is on the engine's host (the engine bind-mounts from it), so every emulator on that engine
/// sees the same file, whatever PID namespace, container or machine name it runs under: a live owner is one whose file
/// was renewed lately, and only a file left unrenewed for <see cref="DockerRuntimeOptions.OwnerLeaseTimeout"/> proves
/// that its owner is gone. A lease file this process cannot see proves nothing, so its containers are left alone.
/// </summary>
public sealed class OwnerLease : IDisposable
{
    /// <summary>The folder under the work directory that holds the leases.</summary>
    public const string FolderName = "owners";

    private const string Extension = ".lease";

    private readonly Timer _renewal;

    public OwnerLease(string workDirectory, TimeSpan renewal)
    {
        var folder = System.IO.Path.Combine(System.IO.Path.GetFullPath(workDirectory), FolderName);
        Directory.CreateDirectory(folder);
        Path = System.IO.Path.Combine(folder, Guid.NewGuid().ToString("N") + Extension);
        File.WriteAllText(Path, $"{EmulatorProcess.Current}{Environment.NewLine}");
        _renewal = new Timer(_ => Renew(), null, renewal, renewal);
    }

    /// <summary>The lease file: the owner label of the containers this process creates.</summary>
    public string Path { get; }

    /// <summary>A short name for this process's own resources, such as its network.</summary>
    public string ShortId => System.IO.Path.GetFileNameWithoutExtension(Path)[..12];

    /// <summary>
    /// Whether the owner a container's label names is certainly gone: a lease unrenewed for <paramref name="timeout"/>;
    /// for labels of emulators before leases (<c>host/pid/start-ticks</c>), the process check those emulators used.
    /// </summary>
    public static bool IsGone(string? owner, TimeSpan timeout)
    {
        if (EmulatorProcess.Parse(owner) is { } process)
        {
            return process.IsGone();
        }

        if (owner is null || !System.IO.Path.IsPathFullyQualified(owner) || !owner.EndsWith(Extension, StringComparison.Ordinal))
        {
            return false;
        }

        var renewed = File.GetLastWriteTimeUtc(owner); // 1601-01-01 when the file is not there: unknown, not gone
        return File.Exists(owner) && DateTime.UtcNow - renewed > timeout;
    }

    /// <summary>
    /// Deletes lease files under <paramref name="workDirectory"/> that went stale and that no container still names
    /// (<paramref name="named"/>): the owner is gone and nothing is left to judge by them.
    /// </summary>
    public static void Sweep(string workDirectory, IReadOnlySet<string> named, TimeSpan timeout)
    {
        var folder = System.IO.Path.Combine(System.IO.Path.GetFullPath(workDirectory), FolderName);
        if (!Directory.Exists(folder))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(folder, "*" + Extension))
        {
            if (!named.Contains(file) && IsGone(file, timeout))
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    /// <summary>Stops renewing and marks the lease released, so what this process left is reaped at once.</summary>
    public void Dispose()
    {
        _renewal.Dispose();
        try
        {
            File.SetLastWriteTimeUtc(Path, DateTime.UnixEpoch);
        }
        catch (IOException)
        {
        }
    }

    private void Renew()
    {
        try
        {
            File.SetLastWriteTimeUtc(Path, DateTime.UtcNow);
        }
        catch (FileNotFoundException)
        {
            TryWrite(); // swept by someone who judged it stale (a host that slept): claim it again
        }
        catch (DirectoryNotFoundException)
        {
            TryWrite();
        }
        catch (IOException)
        {
            // A transient failure; the next renewal tries again, well before the lease goes stale.
        }
    }

    private void TryWrite()
    {
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            File.WriteAllText(Path, $"{EmulatorProcess.Current}{Environment.NewLine}");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
