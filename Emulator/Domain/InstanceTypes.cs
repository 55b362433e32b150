using System.Globalization;
using System.Text.RegularExpressions;

namespace Nvcf.Emulator.Domain;

/// <summary>What an instance type's name says about its GPUs, in the naming schemes NVCF's clusters use.</summary>
public static partial class InstanceTypes
{
    /// <summary>
    /// GPUs per instance: <c>NCP.GPU.H100_2x</c> and <c>local.GPU.H100_2x</c> → 2; <c>BM.GPU.A100-v2.8</c> (OCI) → 8;
    /// <c>gl40_1.br20_2xlarge</c> (GFN) → 1; any other name → 1.
    /// </summary>
    public static int GpuCount(string instanceType)
    {
        foreach (var pattern in (ReadOnlySpan<Regex>)[CountSuffix(), OciShape(), GfnShape()])
        {
            if (pattern.Match(instanceType) is { Success: true } match
                && int.TryParse(match.Groups["count"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                && count is > 0 and <= 64)
            {
                return count;
            }
        }

        return 1;
    }

    [GeneratedRegex(@"_(?<count>\d+)x$", RegexOptions.IgnoreCase)]
    private static partial Regex CountSuffix();

    [GeneratedRegex(@"^BM\.GPU\.[^.]+\.(?<count>\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex OciShape();

    [GeneratedRegex(@"^g[a-z0-9]+_(?<count>\d+)\.", RegexOptions.IgnoreCase)]
    private static partial Regex GfnShape();
}
