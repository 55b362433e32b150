using System.Globalization;
using System.Text.RegularExpressions;

namespace Nvcf.Emulator.Runtime.Gpu;

/// <summary>The NVIDIA GPUs of the host, read from the driver (<c>/proc/driver/nvidia/gpus/*/information</c>).</summary>
public static partial class HostGpus
{
    /// <summary>GPU names as NVCF spells them, most specific first.</summary>
    private static readonly string[] NvcfNames =
    [
        "GH200", "GB200", "B200", "H200", "H100", "H20", "A100_80GB", "A100", "A10G", "A10", "A40", "A30",
        "L40S", "L40G", "L40", "L4", "T4", "V100",
    ];

    /// <summary>The GPUs in PCI bus order (the order <c>nvidia-smi</c> and CUDA number them by).</summary>
    public static IReadOnlyList<HostGpu> Detect(string driverFolder = "/proc/driver/nvidia/gpus")
    {
        if (!Directory.Exists(driverFolder))
        {
            return [];
        }

        var gpus = new List<HostGpu>();
        foreach (var folder in Directory.EnumerateDirectories(driverFolder).Order(StringComparer.OrdinalIgnoreCase))
        {
            var information = Path.Combine(folder, "information");
            if (File.Exists(information) && Parse(File.ReadAllText(information), Path.GetFileName(folder), gpus.Count) is { } gpu)
            {
                gpus.Add(gpu);
            }
        }

        return gpus;
    }

    /// <summary>One GPU from the driver's <c>information</c> file; null without a <c>Model:</c> line.</summary>
    public static HostGpu? Parse(string information, string busId, int index)
    {
        if (Field(information, "Model") is not { } model)
        {
            return null;
        }

        var minor = int.TryParse(Field(information, "Device Minor"), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : index;
        return new HostGpu(index, model, NvcfName(model), busId, minor, Field(information, "GPU UUID"));
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

    private static string? Field(string information, string name) =>
        FieldLine().Matches(information).FirstOrDefault(m => m.Groups["name"].Value == name) is { } match
            && match.Groups["value"].Value.Trim() is { Length: > 0 } value && value != "-"
            ? value
            : null;

    [GeneratedRegex(@"^(?<name>[A-Za-z][A-Za-z ]*?):[ \t]*(?<value>.*?)\r?$", RegexOptions.Multiline)]
    private static partial Regex FieldLine();
}

/// <param name="Index">Position in PCI bus order: the GPU's index for CUDA and <c>nvidia-smi</c>.</param>
/// <param name="Model">The driver's model name, e.g. "NVIDIA H100 80GB HBM3".</param>
/// <param name="Name">The name as NVCF spells it, e.g. "H100".</param>
/// <param name="BusId">The PCI bus ID.</param>
/// <param name="Minor">The device minor number: the GPU's node is <c>/dev/nvidia{Minor}</c>.</param>
/// <param name="Uuid">The GPU's UUID (<c>GPU-…</c>), when the driver tells it.</param>
public sealed record HostGpu(int Index, string Model, string Name, string BusId, int Minor, string? Uuid = null)
{
    public override string ToString() => $"GPU {Index.ToString(CultureInfo.InvariantCulture)} ({Name})";
}
