using System.Text;

namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>
/// Whether the engine sees the work directory where the emulator does. The engine bind-mounts each instance's
/// <c>/var/inf</c> from the work directory by its path on the engine's host, so an emulator in a container must have
/// the folder mounted from the host at the same path (<c>-v /tmp/nvcf-emulator:/tmp/nvcf-emulator</c>); without it,
/// instances and the emulator write to different folders that happen to share a name.
/// </summary>
public static class WorkDirectoryMount
{
    /// <summary>
    /// False only when this process runs in a container (<see cref="EmulatorProcess.SeesHostProcesses"/> is false) and
    /// <paramref name="workDirectory"/> is neither a mount point nor under one other than the container's root.
    /// </summary>
    public static bool IsSharedWithHost(string workDirectory)
    {
        if (EmulatorProcess.SeesHostProcesses)
        {
            return true;
        }

        try
        {
            return IsUnderMount(Path.GetFullPath(workDirectory), File.ReadAllText("/proc/self/mountinfo"));
        }
        catch (IOException)
        {
            return true; // nothing to judge by
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Whether <paramref name="path"/> is at or under a mount point of <paramref name="mountInfo"/> (the format of <c>/proc/self/mountinfo</c>) other than <c>/</c>.</summary>
    public static bool IsUnderMount(string path, string mountInfo)
    {
        path = path.TrimEnd('/');
        foreach (var line in mountInfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5)
            {
                continue;
            }

            var mountPoint = Unescape(fields[4]).TrimEnd('/');
            if (mountPoint.Length > 0 && (path == mountPoint || path.StartsWith(mountPoint + "/", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as octal escapes (<c>\040</c>).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field.AsSpan(i + 1, 3)))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }

    private static bool IsOctal(ReadOnlySpan<char> digits) => digits[0] is >= '0' and <= '7' && digits[1] is >= '0' and <= '7' && digits[2] is >= '0' and <= '7';
}
