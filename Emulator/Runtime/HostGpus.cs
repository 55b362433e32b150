using System.Text.RegularExpressions;

namespace Nvcf.Emulator.Runtime;

/// <summary>The NVIDIA GPUs of the host, read from the driver (<c>/proc/driver/nvidia/gpus/*/information</c>).</summary>
public static partial class HostGpus
{
    /// <summary>GPU names as NVCF spells them, most specific first.</summary>
    private static readonly string[] NvcfNames =
    [
        "GH200", "GB200", "B200", "H200", "H100", "H20", "A100_80GB", "A100", "A10G", "A10", "A40", "A30",
        "L40S", "L40G", "L40", "L4", "T4", "V100",
    ];

    public static IReadOnlyList<HostGpu> Detect(string driverFolder = "/proc/driver/nvidia/gpus")
    {
        if (!Directory.Exists(driverFolder))
        {
            return [];
        }

        var gpus = new List<HostGpu>();
        foreach (var folder in Directory.EnumerateDirectories(driverFolder).Order(StringComparer.Ordinal))
        {
            var information = Path.Combine(folder, "information");
            if (File.Exists(information) && ModelLine().Match(File.ReadAllText(information)) is { Success: true } model)
            {
                var name = model.Groups[1].Value.Trim();
                gpus.Add(new HostGpu(name, NvcfName(name), Path.GetFileName(folder)));
            }
        }

        return gpus;
    }

    /// <summary>"NVIDIA H100 80GB HBM3" → "H100"; "NVIDIA A100-SXM4-80GB" → "A100_80GB"; unknown models keep their name.</summary>
    public static string NvcfName(string model)
    {
        var compact = model.ToUpperInvariant().Replace("NVIDIA", string.Empty, StringComparison.Ordinal).Replace('-', ' ');
        var words = compact.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Contains("A100") && words.Any(w => w.Contains("80GB", StringComparison.Ordinal)))
        {
            return "A100_80GB";
        }

        return NvcfNames.FirstOrDefault(n => words.Contains(n)) ?? string.Join('_', words);
    }

    [GeneratedRegex(@"^Model:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex ModelLine();
}

/// <param name="Model">The driver's model name, e.g. "NVIDIA H100 80GB HBM3".</param>
/// <param name="Name">The name as NVCF spells it, e.g. "H100".</param>
/// <param name="BusId">The PCI bus ID.</param>
public sealed record HostGpu(string Model, string Name, string BusId);
