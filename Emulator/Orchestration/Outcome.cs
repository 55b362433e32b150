namespace Nvcf.Emulator.Orchestration;

/// <summary>Why the control plane refused a request: the kind maps to an HTTP status in one place (Api).</summary>
public enum RejectionKind
{
    /// <summary>The request breaks a rule (400).</summary>
    Invalid,

    /// <summary>What it names does not exist (404).</summary>
    NotFound,

    /// <summary>It is there already (409).</summary>
    Conflict,
}

/// <summary>A refusal with the cloud's message, written as the <c>detail</c> of the problem answer.</summary>
public sealed record Rejection(RejectionKind Kind, string Detail)
{
    public static Rejection Invalid(string detail) => new(RejectionKind.Invalid, detail);

    public static Rejection NotFound(string detail) => new(RejectionKind.NotFound, detail);

    public static Rejection Conflict(string detail) => new(RejectionKind.Conflict, detail);

    public static Rejection VersionNotFound(Guid functionId, Guid versionId, string ncaId) =>
        NotFound($"Function id '{functionId}', version '{versionId}': Not found in account '{ncaId}'");

    public static Rejection FunctionNotFound(Guid functionId, string ncaId) =>
        NotFound($"Function id '{functionId}': Not found in account '{ncaId}'");
}

/// <summary>What a control-plane operation gives back: its value, or the <see cref="Rejection"/> that stopped it.</summary>
public readonly struct Outcome<T>
    where T : notnull
{
    private Outcome(T? value, Rejection? rejection)
    {
        Value = value;
        Rejection = rejection;
    }

    /// <summary>The result; set when <see cref="Rejection"/> is null.</summary>
    public T? Value { get; }

    public Rejection? Rejection { get; }

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Rejection rejection) => new(default, rejection);
}
