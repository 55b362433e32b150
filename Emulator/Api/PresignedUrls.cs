using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Nvcf.Emulator.Api;

/// <summary>
/// The emulator's pre-signed URLs (large-result downloads, asset uploads), standing in for the cloud's object-storage
/// ones: the query carries the expiry and an HMAC-SHA256 signature over the path and the expiry, keyed by a secret made
/// when the process starts. Such a URL needs no bearer token, cannot be guessed from an ID, cannot be extended, and
/// stops working when it expires (or when the emulator restarts). A missing, wrong or expired signature is refused with
/// 403, as object storage refuses it.
/// </summary>
public sealed class PresignedUrls
{
    public const string ExpiresParameter = "expires";
    public const string SignatureParameter = "signature";

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly TimeProvider _time;

    public PresignedUrls(TimeProvider time) => _time = time;

    /// <summary><paramref name="path"/> with the query that lets it be used until <paramref name="lifetime"/> has passed.</summary>
    public string Sign(string path, TimeSpan lifetime)
    {
        var expires = (_time.GetUtcNow() + lifetime).ToUnixTimeSeconds();
        return $"{path}?{ExpiresParameter}={expires.ToString(CultureInfo.InvariantCulture)}&{SignatureParameter}={Signature(path, expires)}";
    }

    /// <summary>Null when <paramref name="request"/> carries a valid, unexpired signature for its path; else the 403 problem.</summary>
    public ProblemHttpResult? Check(HttpRequest request)
    {
        var path = request.Path.Value ?? string.Empty;
        if (!long.TryParse(request.Query[ExpiresParameter], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || request.Query[SignatureParameter].ToString() is not { Length: > 0 } signature
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(Signature(path, expires))))
        {
            return Problems.Create(StatusCodes.Status403Forbidden, "The request signature does not match: use the URL exactly as it was given.");
        }

        return _time.GetUtcNow().ToUnixTimeSeconds() > expires
            ? Problems.Create(StatusCodes.Status403Forbidden, $"Request has expired: the URL was valid until {DateTimeOffset.FromUnixTimeSeconds(expires):O}.")
            : null;
    }

    private string Signature(string path, long expires) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{path}\n{expires.ToString(CultureInfo.InvariantCulture)}")));
}
