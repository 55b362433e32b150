using System.Text.RegularExpressions;

namespace Nvcf.Emulator.Domain;

/// <summary>
/// The grammar of a container image reference, as the Docker engine and registries parse it
/// (<c>[registry[:port]/]path[:tag][@digest]</c>, the path lower-case, the name at most 255 characters).
/// A reference outside it can never be pulled nor run.
/// </summary>
public static partial class ImageReference
{
    private const int MaxNameLength = 255;

    /// <summary>Whether <paramref name="reference"/> is a well-formed image reference.</summary>
    public static bool IsValid(string? reference)
    {
        if (string.IsNullOrEmpty(reference) || Pattern().Match(reference) is not { Success: true } match)
        {
            return false;
        }

        var name = match.Groups["name"].Value;
        return name.Length <= MaxNameLength && !IsUpperCasePath(name);
    }

    /// <summary>
    /// A first component without '.' or ':' (and not <c>localhost</c>) is part of the path, not a registry
    /// (<c>Upper/case</c> means <c>docker.io/Upper/case</c>), so it must be lower-case too.
    /// </summary>
    private static bool IsUpperCasePath(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return false;
        }

        var first = name[..slash];
        return first.IndexOfAny(['.', ':']) < 0 && first.Any(char.IsAsciiLetterUpper);
    }

    // distribution/reference: domain components, then lower-case path components joined by '.', '_', '__' or dashes;
    // a tag of word characters, dots and dashes (at most 128); a digest of an algorithm and at least 32 hex digits.
    [GeneratedRegex(
        """
        ^(?<name>(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?
        [a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)
        (?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?
        (?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$
        """,
        RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
