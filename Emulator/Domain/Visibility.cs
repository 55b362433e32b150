namespace Nvcf.Emulator.Domain;

/// <summary>Which functions a listing shows (<c>visibility</c>; docs/nvcf-contract.md#function-sharing).</summary>
[Flags]
public enum Visibility
{
    None = 0,

    /// <summary>The caller's own.</summary>
    Private = 1,

    /// <summary>Other accounts' functions shared with the caller.</summary>
    Authorized = 2,

    /// <summary>Functions published to every account (none here: only NVIDIA's super admin publishes).</summary>
    Public = 4,

    All = Private | Authorized | Public,
}
