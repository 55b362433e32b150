using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Api;

/// <summary>
/// The control plane's checks of registry credential requests (docs/nvcf-contract.md#registry-credentials), with its
/// messages: the request's fields first, then the secret's format and the registry. Each method returns null when the
/// request is valid, else the <c>detail</c> of the 400 answer. A secret's value is never part of a message.
/// </summary>
public static partial class RegistryCredentialValidation
{
    private const string AddObject = "addRegistryCredentialRequest";
    private const int MaxHostnameLength = 255;
    private const int MaxDescriptionLength = 256;
    private const int MaxSecretValueLength = 32768;

    public const string InvalidSecretFormat = "Invalid request: Registry credential secret must be base64 encoded username:password format";

    public static string? Validate(AddRegistryCredentialRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.RegistryHostname))
        {
            return FunctionValidation.Field(AddObject, "registryHostname", r.RegistryHostname, "must not be blank");
        }

        if (r.RegistryHostname.Length > MaxHostnameLength)
        {
            return FunctionValidation.Field(AddObject, "registryHostname", r.RegistryHostname, $"Invalid hostname: Must be 1 - {MaxHostnameLength} chars long");
        }

        if (!HostnamePattern().IsMatch(r.RegistryHostname) && !RecognizedRegistries.IsLoopback(r.RegistryHostname))
        {
            return FunctionValidation.Field(
                AddObject, "registryHostname", r.RegistryHostname, $"Invalid hostname: Must conform to regex {HostnameRegex} (or be a loopback registry such as localhost:5000)");
        }

        if (r.Secret is null)
        {
            return FunctionValidation.Field(AddObject, "secret", null, "must not be null");
        }

        if (ValidateSecret(AddObject, r.Secret) is { } secretError)
        {
            return secretError;
        }

        if (r.ArtifactTypes is not { Count: > 0 })
        {
            return FunctionValidation.Field(AddObject, "artifactTypes", r.ArtifactTypes is null ? null : "[]", "must not be empty");
        }

        if (FunctionValidation.ValidateTags(AddObject, r.Tags) is { } tagError)
        {
            return tagError;
        }

        return r.Description is { Length: > MaxDescriptionLength }
            ? FunctionValidation.Field(AddObject, "description", r.Description, $"Maximum description length of {MaxDescriptionLength} is exceeded.")
            : null;
    }

    public static string? Validate(UpdateRegistryCredentialRequest r) =>
        r.Secret is null && r.ArtifactTypeEnums is not { Count: > 0 }
            ? "Invalid request: Either secret or artifact types must be specified"
            : r.Secret is null ? null : ValidateSecret("updateRegistryCredentialRequest", r.Secret);

    /// <summary>
    /// The secret against its registry: base64 of exactly one non-blank user name and one non-blank password, and for
    /// NGC (<c>nvcr.io</c>, <c>*.ngc.nvidia.com</c>) the user name <c>$oauthtoken</c>.
    /// </summary>
    public static string? ValidateSecretFormat(string hostname, string secret)
    {
        string raw;
        try
        {
            raw = Encoding.UTF8.GetString(Convert.FromBase64String(secret));
        }
        catch (FormatException)
        {
            return InvalidSecretFormat;
        }

        // As Java's String.split(":"): trailing empty parts are dropped.
        var parts = raw.Split(':').Reverse().SkipWhile(p => p.Length == 0).Reverse().ToArray();
        if (parts.Length != 2 || string.IsNullOrWhiteSpace(parts[0]) || string.IsNullOrWhiteSpace(parts[1]))
        {
            return InvalidSecretFormat;
        }

        return IsNgc(hostname) && !raw.Contains("$oauthtoken", StringComparison.Ordinal)
            ? "Invalid request: Missing $oauthtoken username in NGC registry credential"
            : null;
    }

    public static bool IsNgc(string hostname) =>
        hostname.EndsWith(RecognizedRegistries.Ngc, StringComparison.OrdinalIgnoreCase)
        || hostname.EndsWith("ngc.nvidia.com", StringComparison.OrdinalIgnoreCase);

    private static string? ValidateSecret(string objectName, SecretDto secret)
    {
        if (secret.Name is null || secret.Name.Length > 48 || !FunctionValidation.SecretNamePattern().IsMatch(secret.Name))
        {
            return FunctionValidation.Field(objectName, "secret.name", secret.Name, "must match \"^[a-z0-9A-Z][a-z0-9A-Z_.\\-]*$\" and be 1 to 48 characters long");
        }

        // The value of a registry secret is a string; the rejected value is never echoed, only the secret's name.
        return secret.Value switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) && s.Trim().Length is > 0 and <= MaxSecretValueLength => null,
            JsonValue v when v.TryGetValue<string>(out _) =>
                FunctionValidation.Field(objectName, "secret.value", secret.Name, $"Secret value's length must be between 1 - {MaxSecretValueLength} chars long"),
            null => FunctionValidation.Field(objectName, "secret.value", secret.Name, "must not be null"),
            _ => InvalidSecretFormat,
        };
    }

    private const string HostnameRegex = @"(?=^.{4,253}$)(^((?!-)[a-zA-Z0-9-]{1,63}(?<!-)\.)+[a-zA-Z0-9]{2,63}$)";

    [GeneratedRegex(HostnameRegex, RegexOptions.CultureInvariant)]
    private static partial Regex HostnamePattern();
}
