namespace Nvcf.Emulator.Runtime;

/// <summary>
/// The host folders behind an instance's <c>/var/inf</c> (docs/nvcf-contract.md#input-assets,
/// docs/nvcf-contract.md#progress-reporting): <c>inputAssets</c> and <c>response</c>, bind-mounted into the container
/// so each request's <c>NVCF-ASSET-DIR</c> and <c>NVCF-LARGE-OUTPUT-DIR</c> exist there and the emulator sees what the
/// function writes (progress, large outputs).
/// </summary>
public sealed class InstanceFolders(string root)
{
    public const string ContainerRoot = "/var/inf";
    public const string ContainerInputAssets = ContainerRoot + "/inputAssets";
    public const string ContainerResponse = ContainerRoot + "/response";

    /// <summary>
    /// Where the container finds its secrets (docs/nvcf-contract.md#secrets-in-the-container):
    /// <c>/var/secrets/secrets.json</c>.
    /// </summary>
    public const string ContainerSecrets = "/var/secrets";

    private const string SecretsFile = "secrets.json";

    /// <summary>
    /// Empty folders kept per kind: taking one is a rename, far cheaper than a mkdir on ext4. Enough for the requests
    /// an instance usually has in flight, so that recycling keeps up and nothing is created or deleted per request.
    /// </summary>
    private const int SpareFolders = 64;

    private const UnixFileMode Everyone = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly System.Collections.Concurrent.ConcurrentBag<string> _spareAssets = [];
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _spareResponses = [];
    private int _replenishing;

    public string Root { get; } = root;

    private SpareNames AssetNames { get; } = new(Path.Combine(root, "inputAssets"));

    private SpareNames ResponseNames { get; } = new(Path.Combine(root, "response"));

    public string InputAssets => AssetNames.Parent;

    public string Response => ResponseNames.Parent;

    /// <summary>The host folder behind <see cref="ContainerSecrets"/>, mounted read-only.</summary>
    public string Secrets => Path.Combine(Root, "secrets");

    public static InstanceFolders For(string workDirectory, Guid instanceId) =>
        new(Path.Combine(workDirectory, "instances", instanceId.ToString("N")));

    /// <summary>Creates the instance's folders, writable by the container's (usually non-root) user, and spares.</summary>
    public void Create()
    {
        CreateShared(InputAssets);
        CreateShared(Response);
        Directory.CreateDirectory(Secrets);
        ReplenishInBackground();
    }

    /// <summary>
    /// Writes <c>secrets.json</c>, a flat object of name → value (a JSON object stays an object), readable by the
    /// container's user. Replaced in one rename, so a function reading it while it is updated sees old or new, whole.
    /// </summary>
    public void WriteSecrets(IReadOnlyList<Domain.Secret> secrets)
    {
        Directory.CreateDirectory(Secrets);
        var temporary = Path.Combine(Secrets, $".{SecretsFile}.{Guid.NewGuid():N}");
        using (var file = File.Create(temporary))
        using (var writer = new System.Text.Json.Utf8JsonWriter(file))
        {
            writer.WriteStartObject();
            foreach (var secret in secrets)
            {
                writer.WritePropertyName(secret.Name);
                if (secret.IsObject)
                {
                    writer.WriteRawValue(secret.Value);
                }
                else
                {
                    writer.WriteStringValue(secret.Value);
                }
            }

            writer.WriteEndObject();
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        File.Move(temporary, Path.Combine(Secrets, SecretsFile), overwrite: true);
    }

    /// <summary>
    /// The folders of one request, empty, before it is forwarded: spare folders renamed to the request ID
    /// (created on the spot when none is left). Give them back with <see cref="RequestFolders.Release"/>.
    /// </summary>
    public RequestFolders ForRequest(Guid requestId)
    {
        var name = requestId.ToString();
        var folders = new RequestFolders(this, Take(_spareAssets, AssetNames, name), Take(_spareResponses, ResponseNames, name));
        if (_spareAssets.Count < SpareFolders / 4 || _spareResponses.Count < SpareFolders / 4)
        {
            ReplenishInBackground();
        }

        return folders;
    }

    public void Delete()
    {
        _spareAssets.Clear();
        _spareResponses.Clear();
        DeleteFolder(Root);
    }

    /// <summary>Takes a request's folder back as a spare when it is empty (or holds only <c>progress</c>), else deletes it.</summary>
    internal void Recycle(string folder, bool response)
    {
        try
        {
            var spares = response ? _spareResponses : _spareAssets;
            if (spares.Count < SpareFolders && IsEmptyOnceProgressDeleted(folder, response))
            {
                var names = response ? ResponseNames : AssetNames;
                var spare = names.Take();
                try
                {
                    Rename(folder, spare);
                }
                catch
                {
                    names.Give(spare);
                    throw;
                }

                spares.Add(spare);
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        DeleteFolder(folder);
    }

    /// <summary>
    /// Whether the folder is empty, deleting the <c>progress</c> file of a response folder when it is all there is.
    /// One read of the folder answers both (a missing folder throws <see cref="DirectoryNotFoundException"/>), as this
    /// runs for every request.
    /// </summary>
    private static bool IsEmptyOnceProgressDeleted(string folder, bool response)
    {
        var progress = false;
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
        {
            if (!response || !RequestFolders.IsProgressFile(entry))
            {
                return false;
            }

            progress = true;
        }

        if (progress)
        {
            File.Delete(Path.Combine(folder, RequestFolders.ProgressFile));
        }

        return true;
    }

    private static string Take(System.Collections.Concurrent.ConcurrentBag<string> spares, SpareNames names, string name)
    {
        var path = Path.Combine(names.Parent, name);
        while (spares.TryTake(out var spare))
        {
            try
            {
                Rename(spare, path);
                names.Give(spare);
                return path;
            }
            catch (IOException)
            {
                // Gone (the instance is being removed): try the next, or create one below.
            }
        }

        CreateShared(path);
        return path;
    }

    private void ReplenishInBackground()
    {
        if (Interlocked.Exchange(ref _replenishing, 1) == 0)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    Replenish();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The instance's folders are going away; requests create their own meanwhile.
                }
                finally
                {
                    Volatile.Write(ref _replenishing, 0);
                }
            });
        }
    }

    private void Replenish()
    {
        foreach (var (spares, names) in new[] { (_spareAssets, AssetNames), (_spareResponses, ResponseNames) })
        {
            while (spares.Count < SpareFolders && Directory.Exists(names.Parent))
            {
                var spare = names.Take();
                CreateShared(spare);
                spares.Add(spare);
            }
        }
    }

    /// <summary>
    /// Renames a folder: <c>rename(2)</c> itself on Unix, as this runs four times per request and
    /// <see cref="Directory.Move"/> looks both paths up first (two more system calls, and a search of the folder for a
    /// name that is not there). The target is always a name no folder has (a request ID, or a free spare name).
    /// </summary>
    /// <exception cref="IOException">The folder is gone, or could not be renamed.</exception>
    private static void Rename(string from, string to)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.Move(from, to);
        }
        else if (Mono.Unix.Native.Syscall.rename(from, to) != 0)
        {
            throw new IOException($"Cannot rename '{from}' to '{to}': {Mono.Unix.Native.Stdlib.GetLastError()}");
        }
    }

    private static void CreateShared(string path)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, Everyone);
        }
    }

    private static void DeleteFolder(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
            // Files the container's user made unremovable; they go with the work directory.
        }
    }
}

/// <summary>
/// The names spare folders go by in one folder: a freed name is used again, as the file system has it cached already
/// (a name never seen before makes each rename search the whole folder for it on ext4: about a quarter more per take
/// and give-back).
/// The prefix is this object's own, so names cannot meet a spare another emulator left behind.
/// </summary>
internal sealed class SpareNames(string parent)
{
    private readonly string _prefix = Path.Combine(parent, ".spare-" + Guid.NewGuid().ToString("N")[..8] + "-");
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _free = [];
    private int _next;

    public string Parent { get; } = parent;

    /// <summary>A path for a spare that no folder has now.</summary>
    public string Take() =>
        _free.TryTake(out var path) ? path : _prefix + Interlocked.Increment(ref _next).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A spare's path that no folder has any more (it was taken, or never made).</summary>
    public void Give(string path) => _free.Add(path);
}

/// <summary>One request's folders on the host: its input assets and its large-output folder.</summary>
public sealed class RequestFolders(InstanceFolders instance, string inputAssets, string response)
{
    public const string ProgressFile = "progress";

    private int _released;

    public string InputAssets { get; } = inputAssets;

    public string Response { get; } = response;

    public string ProgressPath => Path.Combine(Response, ProgressFile);

    /// <summary>
    /// Whether the function left any file other than <c>progress</c> in the large-output folder. Asked for every
    /// answer, so the folder is read once: a missing one throws rather than being checked for first.
    /// </summary>
    public bool HasLargeOutputs()
    {
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(Response))
            {
                if (!IsProgressFile(entry))
                {
                    return true;
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
        }

        return false;
    }

    internal static bool IsProgressFile(string entry) => Path.GetFileName(entry.AsSpan()).Equals(ProgressFile, StringComparison.Ordinal);

    /// <summary>Gives the folders back to the instance (as spares when empty) once the request is over.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            instance.Recycle(InputAssets, response: false);
            instance.Recycle(Response, response: true);
        }
    }
}
