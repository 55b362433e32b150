using System.Globalization;

namespace Nvcf.Emulator.Runtime.Gpu;

/// <summary>
/// Gives each instance its GPUs: as many as its instance type asks for (at most all of them), the least used first,
/// so that with several GPUs instances get distinct devices. When every GPU is taken, instances share one, and the
/// assignment says so. Thread-safe.
/// </summary>
public sealed class GpuAllocator
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, IReadOnlyList<int>> _assigned = new(StringComparer.Ordinal);

    /// <summary>Assigns GPUs (indices into <paramref name="gpus"/>) to the instance <paramref name="owner"/>.</summary>
    public GpuAssignment Allocate(string owner, int count, IReadOnlyList<HostGpu> gpus)
    {
        if (gpus.Count == 0)
        {
            return GpuAssignment.None;
        }

        lock (_lock)
        {
            var users = new int[gpus.Count];
            foreach (var (other, indices) in _assigned)
            {
                if (other != owner)
                {
                    foreach (var index in indices.Where(i => i < users.Length))
                    {
                        users[index]++;
                    }
                }
            }

            var chosen = Enumerable.Range(0, gpus.Count)
                .OrderBy(i => users[i])
                .ThenBy(i => i)
                .Take(Math.Clamp(count, 1, gpus.Count))
                .Order()
                .ToList();
            _assigned[owner] = chosen;
            return new GpuAssignment([.. chosen.Select(i => gpus[i])], chosen.Any(i => users[i] > 0));
        }
    }

    /// <summary>Records the GPUs of an instance that already runs (an adopted container).</summary>
    public void Claim(string owner, IReadOnlyList<int> indices)
    {
        lock (_lock)
        {
            _assigned[owner] = indices;
        }
    }

    public void Release(string owner)
    {
        lock (_lock)
        {
            _assigned.Remove(owner);
        }
    }
}

/// <summary>The GPUs one instance gets.</summary>
/// <param name="Gpus">Its GPUs; empty when it runs on the CPU, or when the engine picks (all GPUs).</param>
/// <param name="Shared">Whether another instance uses one of them too.</param>
public sealed record GpuAssignment(IReadOnlyList<HostGpu> Gpus, bool Shared)
{
    public static readonly GpuAssignment None = new([], false);

    /// <summary>The label value: GPU indices, e.g. "0,1".</summary>
    public string Indices => string.Join(',', Gpus.Select(g => g.Index.ToString(CultureInfo.InvariantCulture)));

    public static IReadOnlyList<int> ParseIndices(string? label) =>
        string.IsNullOrEmpty(label)
            ? []
            : [.. label.Split(',').Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1).Where(i => i >= 0)];

    public override string ToString() => Gpus.Count == 0 ? "no GPU" : string.Join(", ", Gpus) + (Shared ? " (shared)" : string.Empty);
}
