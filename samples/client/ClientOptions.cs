using System.Globalization;

namespace Nvcf.Client;

/// <summary>The command line, with NVCF_BASE_URL and NVCF_API_KEY as fallbacks.</summary>
internal sealed record ClientOptions(Uri BaseUrl, string? ApiKey, Guid FunctionId, Guid? VersionId, string Body, int? PollSeconds, string? OutputPath)
{
    public const string Usage = """
        usage: dotnet run --project samples/client -- --function-id ID [options]

          --function-id ID     the function to invoke (required)
          --version-id ID      one version of it (default: any deployed version)
          --base-url URL       the NVCF API (default: $NVCF_BASE_URL, else https://api.nvcf.nvidia.com)
          --api-key KEY        sent as Authorization: Bearer (default: $NVCF_API_KEY)
          --body JSON|@FILE    the request body, sent as application/json (default: {})
          --poll-seconds N     NVCF-POLL-SECONDS, 1..3600: how long each call may block (default: the platform's, 60)
          --out FILE           where to save a large result (the zip behind a 302); without it, its entries are listed
        """;

    private static readonly string[] Names = ["--base-url", "--function-id", "--version-id", "--api-key", "--body", "--poll-seconds", "--out"];

    /// <summary>Reads the options; a <see cref="FormatException"/> says what is wrong with them.</summary>
    public static ClientOptions Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i += 2)
        {
            if (!Names.Contains(args[i], StringComparer.Ordinal))
            {
                throw new FormatException($"unknown argument '{args[i]}'");
            }

            values[args[i]] = i + 1 < args.Count ? args[i + 1] : throw new FormatException($"{args[i]} needs a value");
        }

        var baseUrl = values.GetValueOrDefault("--base-url") ?? Environment.GetEnvironmentVariable("NVCF_BASE_URL") ?? NvcfClient.CloudBaseUrl;
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"--base-url '{baseUrl}' is not an http(s) URL");
        }

        var body = values.GetValueOrDefault("--body") ?? "{}";
        if (body.StartsWith('@'))
        {
            body = File.Exists(body[1..]) ? File.ReadAllText(body[1..]) : throw new FormatException($"--body: no file {body[1..]}");
        }

        return new ClientOptions(
            baseUri,
            values.GetValueOrDefault("--api-key") ?? Environment.GetEnvironmentVariable("NVCF_API_KEY"),
            values.TryGetValue("--function-id", out var functionId) ? ParseGuid("--function-id", functionId) : throw new FormatException("--function-id is required"),
            values.TryGetValue("--version-id", out var versionId) ? ParseGuid("--version-id", versionId) : null,
            body,
            values.TryGetValue("--poll-seconds", out var poll) ? ParseSeconds(poll) : null,
            values.GetValueOrDefault("--out"));
    }

    private static Guid ParseGuid(string name, string value) =>
        Guid.TryParse(value, out var id) ? id : throw new FormatException($"{name} '{value}' is not a UUID");

    private static int ParseSeconds(string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : throw new FormatException($"--poll-seconds '{value}' is not a whole number");
}
