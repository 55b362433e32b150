using System.Text;
using System.Text.Json;

namespace Nvcf.Emulator.Validation;

public enum CheckOutcome
{
    Pass,
    Fail,

    /// <summary>Not run, because a check it depends on failed.</summary>
    Skip,
}

/// <summary>One line of the report.</summary>
/// <param name="Name">The check, e.g. <c>health</c>.</param>
/// <param name="Outcome">Its outcome.</param>
/// <param name="Detail">Why: what was seen, and on a failure what to change.</param>
public sealed record CheckResult(string Name, CheckOutcome Outcome, string Detail);

/// <summary>The outcome of <c>validate</c>: one result per check, in the order they ran.</summary>
public sealed class ValidationReport(string image)
{
    private readonly List<CheckResult> _checks = [];

    public string Image { get; } = image;

    public IReadOnlyList<CheckResult> Checks => _checks;

    /// <summary>True when at least one check ran and none failed or was skipped.</summary>
    public bool Passed => _checks.Count > 0 && _checks.All(c => c.Outcome == CheckOutcome.Pass);

    public void Pass(string name, string detail) => _checks.Add(new(name, CheckOutcome.Pass, detail));

    public void Fail(string name, string detail) => _checks.Add(new(name, CheckOutcome.Fail, detail));

    public void Skip(string name, string detail) => _checks.Add(new(name, CheckOutcome.Skip, detail));

    public bool Has(string name) => _checks.Any(c => c.Name == name);

    /// <summary>One line per check: <c>PASS health     GET :8000/v2/health/ready answered 200 after 1.2 s</c>.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        var width = _checks.Count == 0 ? 0 : _checks.Max(c => c.Name.Length);
        foreach (var check in _checks)
        {
            var lines = check.Detail.Split('\n');
            text.Append(Label(check.Outcome)).Append(' ').Append(check.Name.PadRight(width)).Append("  ").AppendLine(lines[0]);
            foreach (var line in lines.Skip(1))
            {
                text.Append(' ', 7 + width).AppendLine(line);
            }
        }

        text.Append(Passed ? "PASSED: " : "FAILED: ").Append(Image).Append(Passed ? " is ready to publish." : " is not ready to publish.");
        return text.ToString();
    }

    /// <summary><c>{"image": …, "passed": …, "checks": [{"name", "outcome", "detail"}]}</c>, for CI.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("image", Image);
            writer.WriteBoolean("passed", Passed);
            writer.WriteStartArray("checks");
            foreach (var check in _checks)
            {
                writer.WriteStartObject();
                writer.WriteString("name", check.Name);
                writer.WriteString("outcome", Label(check.Outcome));
                writer.WriteString("detail", check.Detail);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Label(CheckOutcome outcome) => outcome switch
    {
        CheckOutcome.Pass => "PASS",
        CheckOutcome.Fail => "FAIL",
        _ => "SKIP",
    };
}
