using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Nvcf.Emulator.Api;

/// <summary>
/// NVCF's scope names (docs/nvcf-contract.md#scopes). An endpoint accepts its scope plain or in its <c>apikey:</c>
/// form; the <c>admin:</c> forms belong to the cloud's super-admin (cross-account) endpoints and grant none of these.
/// </summary>
public static class Scopes
{
    public const string InvokeFunction = "invoke_function";
    public const string ListFunctions = "list_functions";
    public const string ListFunctionsDetails = "list_functions_details";
    public const string RegisterFunction = "register_function";
    public const string UpdateFunction = "update_function";
    public const string DeleteFunction = "delete_function";
    public const string DeployFunction = "deploy_function";
    public const string QueueDetails = "queue_details";
    public const string AuthorizeClients = "authorize_clients";
    public const string ListClusterGroups = "list_cluster_groups";
    public const string UpdateSecrets = "update_secrets";
    public const string ManageTelemetries = "manage_telemetries";
    public const string ManageRegistryCredentials = "manage_registry_credentials";
    public const string AccountSetup = "account_setup";

    public const string ApiKeyPrefix = "apikey:";
    public const string AdminPrefix = "admin:";

    public static readonly FrozenSet<string> Names = FrozenSet.Create(
        StringComparer.Ordinal,
        InvokeFunction, ListFunctions, ListFunctionsDetails, RegisterFunction, UpdateFunction, DeleteFunction, DeployFunction,
        QueueDetails, AuthorizeClients, ListClusterGroups, UpdateSecrets, ManageTelemetries, ManageRegistryCredentials, AccountSetup);

    /// <summary>A scope name as NVCF writes it: one of <see cref="Names"/>, plain or with an <c>apikey:</c> or <c>admin:</c> prefix.</summary>
    public static bool IsKnown(string scope) => Names.Contains(Plain(scope));

    /// <summary>The scope an endpoint checks: a plain name or its <c>apikey:</c> form; <c>admin:</c> forms stay as they are.</summary>
    public static string Granted(string scope) => scope.StartsWith(ApiKeyPrefix, StringComparison.Ordinal) ? scope[ApiKeyPrefix.Length..] : scope;

    private static string Plain(string scope) =>
        scope.StartsWith(ApiKeyPrefix, StringComparison.Ordinal) ? scope[ApiKeyPrefix.Length..]
        : scope.StartsWith(AdminPrefix, StringComparison.Ordinal) ? scope[AdminPrefix.Length..]
        : scope;
}

/// <summary>
/// Who sent a request: the account its key belongs to and the scopes the key carries (null: every scope). Resolved
/// once per request from the bearer token (<see cref="Accounts"/>) and kept on the request's features; handlers take it
/// as a parameter.
/// </summary>
public sealed class Caller(string ncaId, FrozenSet<string>? scopes)
{
    public string NcaId { get; } = ncaId;

    /// <summary>What the key may do, <c>apikey:</c> forms folded into plain names; null: everything.</summary>
    public FrozenSet<string>? Scopes { get; } = scopes;

    /// <summary>Whether the key carries one of <paramref name="required"/> (each accepted plain or in its <c>apikey:</c> form).</summary>
    public bool HasAny(IReadOnlyList<string> required)
    {
        if (Scopes is null)
        {
            return true;
        }

        foreach (var scope in required)
        {
            if (Scopes.Contains(scope))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The request's caller, set by the bearer check before any <c>/v2</c> endpoint runs.</summary>
    public static Caller Of(HttpContext context) =>
        context.Features.Get<Caller>() ?? throw new InvalidOperationException("The request's caller was not resolved: the bearer check did not run.");

    /// <summary>Binds a handler's <see cref="Caller"/> parameter.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context) => ValueTask.FromResult<Caller?>(Of(context));
}

/// <summary>
/// The accounts of this emulator (docs/nvcf-contract.md#accounts-and-api-keys): the default one
/// (<c>Emulator:NcaId</c>, keys <c>Emulator:ApiKeys</c>, every scope) and those under
/// <c>Emulator:Accounts:&lt;ncaId&gt;</c> (keys <c>ApiKeys</c>, optional <c>Scopes</c>). With no key configured anywhere
/// any bearer token is the default account with every scope.
/// </summary>
public sealed class Accounts
{
    private readonly FrozenDictionary<string, Caller> _byKey;
    private readonly FrozenDictionary<string, Caller>.AlternateLookup<ReadOnlySpan<char>> _byKeySpan;
    private readonly Caller _anyToken;

    public Accounts(IOptions<EmulatorOptions> options)
    {
        var o = options.Value;
        DefaultNcaId = o.NcaId;
        _anyToken = new Caller(o.NcaId, null);
        var byKey = new Dictionary<string, Caller>(StringComparer.Ordinal);
        var known = new HashSet<string>(StringComparer.Ordinal) { o.NcaId };
        foreach (var (ncaId, account) in o.Accounts)
        {
            known.Add(ncaId);
            var caller = new Caller(ncaId, account.Scopes.Count == 0 ? null : account.Scopes.Select(Scopes.Granted).ToFrozenSet(StringComparer.Ordinal));
            foreach (var key in account.ApiKeys)
            {
                byKey[key] = caller;
            }
        }

        foreach (var key in o.ApiKeys)
        {
            byKey.TryAdd(key, _anyToken);
        }

        _byKey = byKey.ToFrozenDictionary(StringComparer.Ordinal);
        _byKeySpan = _byKey.GetAlternateLookup<ReadOnlySpan<char>>();
        Known = known.ToFrozenSet(StringComparer.Ordinal);
    }

    public string DefaultNcaId { get; }

    /// <summary>Every account ID here: the default one and the configured ones.</summary>
    public FrozenSet<string> Known { get; }

    /// <summary>The caller a bearer token stands for, or null when keys are configured and this is none of them.</summary>
    public Caller? Resolve(ReadOnlySpan<char> token) => _byKey.Count == 0 ? _anyToken : _byKeySpan.TryGetValue(token, out var caller) ? caller : null;

    /// <summary>Why the accounts' settings cannot be used, or null when they can (checked when the emulator starts).</summary>
    public static string? Check(EmulatorOptions options)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in options.ApiKeys)
        {
            owners[key] = options.NcaId;
        }

        foreach (var (ncaId, account) in options.Accounts)
        {
            if (string.IsNullOrWhiteSpace(ncaId) || ncaId == "*")
            {
                return $"Emulator:Accounts: '{ncaId}' is not an account ID.";
            }

            if (account.Scopes.FirstOrDefault(s => !Scopes.IsKnown(s)) is { } unknown)
            {
                return $"Emulator:Accounts:{ncaId}:Scopes: unknown scope '{unknown}'; NVCF's scopes are {string.Join(", ", Scopes.Names.Order(StringComparer.Ordinal))} (plain, or with an 'apikey:' or 'admin:' prefix).";
            }

            foreach (var key in account.ApiKeys)
            {
                if (string.IsNullOrWhiteSpace(key))
                {
                    return $"Emulator:Accounts:{ncaId}:ApiKeys: a key is empty.";
                }

                if (owners.TryGetValue(key, out var owner) && owner != ncaId)
                {
                    return $"Emulator:Accounts:{ncaId}:ApiKeys: a key of account '{ncaId}' is also a key of account '{owner}'; a key belongs to one account.";
                }

                owners[key] = ncaId;
            }
        }

        return null;
    }
}

/// <summary>Checks the accounts' settings when the emulator starts (<see cref="Accounts.Check"/>).</summary>
public sealed class AccountsValidation : IValidateOptions<EmulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, EmulatorOptions options) =>
        Accounts.Check(options) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
}

/// <summary>Endpoint metadata: the scopes of which a caller's key needs one (docs/nvcf-contract.md#scopes).</summary>
public sealed record RequiredScopes(IReadOnlyList<string> Scopes);

public static class ScopeEndpointExtensions
{
    /// <summary>Callers need one of <paramref name="scopes"/> (plain or <c>apikey:</c>), else 403.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, params string[] scopes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredScopes(scopes));
}
