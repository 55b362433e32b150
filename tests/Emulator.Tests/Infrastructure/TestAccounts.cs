namespace Nvcf.Emulator.Tests.Infrastructure;

/// <summary>
/// Three accounts on one emulator: <c>nca-a</c> (the default, key <see cref="EmulatorFactory.Token"/>, every scope),
/// <c>nca-b</c> (key <see cref="BKey"/>, every scope) and <c>reader</c> (key <see cref="ReaderKey"/>, which may only
/// list functions).
/// </summary>
public static class TestAccounts
{
    public const string BKey = "key-of-b";
    public const string ReaderKey = "key-of-reader";

    /// <summary>The emulator's settings for the three accounts, with <paramref name="readyTimeout"/>.</summary>
    public static Dictionary<string, string?> Settings(string readyTimeout) => new()
    {
        ["Emulator:ReadyTimeout"] = readyTimeout,
        ["Emulator:NcaId"] = "nca-a",
        ["Emulator:ApiKeys:0"] = EmulatorFactory.Token,
        ["Emulator:Accounts:nca-b:ApiKeys:0"] = BKey,
        ["Emulator:Accounts:reader:ApiKeys:0"] = ReaderKey,
        ["Emulator:Accounts:reader:Scopes:0"] = "apikey:list_functions",
    };
}
