namespace Nvcf.Emulator.Runtime;

/// <summary>
/// The host folders behind an instance's <c>/var/inf</c> (§10.4, §10.5): <c>inputAssets</c> and <c>response</c>,
/// bind-mounted into the container so each request's <c>NVCF-ASSET-DIR</c> and <c>NVCF-LARGE-OUTPUT-DIR</c> exist
/// there and the emulator sees what the function writes (progress, large outputs).
/// </summary>
public sealed record InstanceFolders(string Root)
{
    public const string ContainerRoot = "/var/inf";
    public const string ContainerInputAssets = ContainerRoot + "/inputAssets";
    public const string ContainerResponse = ContainerRoot + "/response";

    private const UnixFileMode Everyone = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public string InputAssets => Path.Combine(Root, "inputAssets");

    public string Response => Path.Combine(Root, "response");

    public static InstanceFolders For(string workDirectory, Guid instanceId) =>
        new(Path.Combine(workDirectory, "instances", instanceId.ToString("N")));

    /// <summary>Creates the instance's folders, writable by the container's (usually non-root) user.</summary>
    public void Create()
    {
        CreateShared(InputAssets);
        CreateShared(Response);
    }

    /// <summary>The folders of one request, created empty before it is forwarded.</summary>
    public RequestFolders ForRequest(Guid requestId)
    {
        var folders = new RequestFolders(
            Path.Combine(InputAssets, requestId.ToString()),
            Path.Combine(Response, requestId.ToString()));
        CreateShared(folders.InputAssets);
        CreateShared(folders.Response);
        return folders;
    }

    public void Delete()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
            // Files the container's user made unremovable; they go with the work directory.
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
}

/// <summary>One request's folders on the host: its input assets and its large-output folder.</summary>
public sealed record RequestFolders(string InputAssets, string Response)
{
    public const string ProgressFile = "progress";

    public string ProgressPath => Path.Combine(Response, ProgressFile);

    /// <summary>Files the function left in the large-output folder, except <c>progress</c>.</summary>
    public IReadOnlyList<string> LargeOutputs() =>
        Directory.Exists(Response)
            ? [.. Directory.EnumerateFiles(Response, "*", SearchOption.AllDirectories)
                .Where(f => !string.Equals(Path.GetRelativePath(Response, f), ProgressFile, StringComparison.Ordinal))]
            : [];

    public void Delete()
    {
        foreach (var folder in new[] { InputAssets, Response })
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
