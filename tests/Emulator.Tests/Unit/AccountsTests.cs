using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api;

namespace Nvcf.Emulator.Tests.Unit;

/// <summary>Which account and scopes a bearer token stands for, and which settings are refused at start.</summary>
public class AccountsTests
{
    [Fact]
    public void WithNoKeyConfiguredAnyTokenIsTheDefaultAccountWithEveryScope()
    {
        var accounts = new Accounts(Options.Create(new EmulatorOptions { NcaId = "mine" }));

        var caller = accounts.Resolve("anything at all")!;
        Assert.Equal("mine", caller.NcaId);
        Assert.True(caller.HasAny([Scopes.AccountSetup]));
        Assert.Equal(["mine"], accounts.Known);
    }

    [Fact]
    public void AKeyActsAsItsAccountWithItsScopesAndAnUnknownOneIsNobodyOnceKeysExist()
    {
        var options = new EmulatorOptions { NcaId = "default" };
        options.Accounts["team-b"] = Account(["key-b"]);
        options.Accounts["reader"] = Account(["key-r"], ["apikey:list_functions", "admin:invoke_function"]);
        var accounts = new Accounts(Options.Create(options));

        Assert.Null(accounts.Resolve("anything"));
        Assert.Equal("team-b", accounts.Resolve("key-b")!.NcaId);
        Assert.True(accounts.Resolve("key-b")!.HasAny([Scopes.DeployFunction]));

        var reader = accounts.Resolve("key-r")!;
        Assert.Equal("reader", reader.NcaId);
        Assert.True(reader.HasAny([Scopes.ListFunctions, Scopes.ListFunctionsDetails]));
        Assert.False(reader.HasAny([Scopes.ListFunctionsDetails]));
        Assert.False(reader.HasAny([Scopes.InvokeFunction])); // admin: forms belong to the cloud's cross-account endpoints
        Assert.Equal(["default", "reader", "team-b"], accounts.Known.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheDefaultAccountsKeysKeepEveryScope()
    {
        var options = new EmulatorOptions { NcaId = "default" };
        options.ApiKeys.Add("key-a");
        options.Accounts["team-b"] = Account(["key-b"]);
        var accounts = new Accounts(Options.Create(options));

        Assert.Equal("default", accounts.Resolve("key-a")!.NcaId);
        Assert.Null(accounts.Resolve("key-c"));
    }

    [Theory]
    [InlineData("team-b", "key-a", "invoke_function", "also a key of account 'default'")]
    [InlineData("team-b", "key-b", "invoke_functions", "unknown scope 'invoke_functions'")]
    [InlineData("team-b", " ", "invoke_function", "a key is empty")]
    [InlineData("*", "key-b", "invoke_function", "'*' is not an account ID")]
    public void SettingsThatCannotWorkAreRefusedAtStartNamingTheSetting(string ncaId, string key, string scope, string expected)
    {
        var options = new EmulatorOptions { NcaId = "default" };
        options.ApiKeys.Add("key-a");
        options.Accounts[ncaId] = Account([key], [scope]);

        Assert.Contains(expected, Accounts.Check(options), StringComparison.Ordinal);
        Assert.StartsWith("Emulator:Accounts", Accounts.Check(options), StringComparison.Ordinal);
    }

    [Fact]
    public void EveryScopeNameIsAcceptedPlainOrPrefixed()
    {
        foreach (var name in Scopes.Names)
        {
            Assert.True(Scopes.IsKnown(name));
            Assert.True(Scopes.IsKnown("apikey:" + name));
            Assert.True(Scopes.IsKnown("admin:" + name));
        }

        Assert.False(Scopes.IsKnown("apikey:"));
        Assert.False(Scopes.IsKnown("INVOKE_FUNCTION"));
    }

    private static AccountOptions Account(string[] keys, string[]? scopes = null)
    {
        var account = new AccountOptions();
        foreach (var key in keys)
        {
            account.ApiKeys.Add(key);
        }

        foreach (var scope in scopes ?? [])
        {
            account.Scopes.Add(scope);
        }

        return account;
    }
}
