using System.Text.RegularExpressions;

namespace Nvcf.Emulator.Runtime.Gpu;

/// <summary>Reads the device names of a CDI specification (<c>/etc/cdi/*.yaml</c> or <c>*.json</c>) without a YAML parser.</summary>
public static partial class CdiSpec
{
    /// <summary>The <c>devices[].name</c> entries, when the spec's <c>kind</c> is <paramref name="kind"/>.</summary>
    public static IReadOnlyList<string> DeviceNames(string spec, string kind)
    {
        if (KindField().Match(spec) is not { Success: true } match || match.Groups["kind"].Value != kind)
        {
            return [];
        }

        return [.. NameField().Matches(spec).Select(m => m.Groups["name"].Value).Distinct(StringComparer.Ordinal)];
    }

    [GeneratedRegex("""(?:^|[{,])\s*"?kind"?\s*:\s*"?(?<kind>[^"\s,}]+)""", RegexOptions.Multiline)]
    private static partial Regex KindField();

    [GeneratedRegex("""(?:^\s*-\s*|[{,]\s*)"?name"?\s*:\s*"?(?<name>[^"\s,}]+)""", RegexOptions.Multiline)]
    private static partial Regex NameField();
}
