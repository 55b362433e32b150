namespace Nvcf.DiscoveryClient;

/// <summary>The <c>Nvcf</c> configuration section: where the NVCF API is, the key, and which function to call.</summary>
public sealed class NvcfOptions
{
    public const string SectionName = "Nvcf";

    /// <summary>The named HttpClient that talks to the NVCF API.</summary>
    public const string HttpClientName = "nvcf";

    /// <summary>
    /// The NVCF API. <c>https+http://nvcf-emulator</c> (the default) is resolved by service discovery from what the
    /// app host's <c>WithReference(emulator)</c> injects; a plain URL such as <c>https://api.nvcf.nvidia.com</c> is used
    /// as it is.
    /// </summary>
    public string BaseUrl { get; set; } = "https+http://nvcf-emulator";

    /// <summary>Sent as <c>Authorization: Bearer</c>: an <c>nvapi-</c> key for the cloud; the emulator accepts any.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The function to invoke. Empty: looked up by <see cref="FunctionName"/> on the first request.</summary>
    public Guid? FunctionId { get; set; }

    /// <summary>The function's name, used when <see cref="FunctionId"/> is not set.</summary>
    public string? FunctionName { get; set; }
}
