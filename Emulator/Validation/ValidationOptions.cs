using System.Globalization;
using System.Text.Json;

namespace Nvcf.Emulator.Validation;

/// <summary>What <c>validate</c> checks: the image and the function settings it would be published with.</summary>
public sealed record ValidationOptions
{
    /// <summary>
    /// NVCF's default inference port (docs/nvcf-contract.md#health-defaults), also the health port when none is given.
    /// </summary>
    public const int DefaultInferencePort = 8000;

    /// <summary>NVCF's default health path (docs/nvcf-contract.md#health-defaults, Triton style).</summary>
    public const string DefaultHealthUri = "/v2/health/ready";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    public required string Image { get; init; }

    /// <summary>The path the function is invoked on; required, as <c>inferenceUrl</c> is when a function is created.</summary>
    public required string InferenceUrl { get; init; }

    public int InferencePort { get; init; } = DefaultInferencePort;

    public string HealthUri { get; init; } = DefaultHealthUri;

    /// <summary>The health port; null: the inference port, as in the cloud.</summary>
    public int? HealthPort { get; init; }

    public int HealthExpectedStatus { get; init; } = 200;

    /// <summary>The JSON body of the test invocation.</summary>
    public string Body { get; init; } = "{}";

    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];

    /// <summary>Pass a GPU to the container when the host has one; else the container runs on the CPU.</summary>
    public bool Gpu { get; init; }

    /// <summary>How long the container may take to become healthy, and the invocation to answer.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    public bool Json { get; init; }

    public const string Usage = """
        Usage: nvcf-emulator validate <image> --inference-url <path> [options]

        Runs <image> as an NVCF deployment would (one instance, same environment, mounts and headers) and checks it.

          --inference-url <path>   Path the function is invoked on, e.g. /echo or /v2/models/m/infer (required).
          --inference-port <port>  Port the container serves on (default 8000).
          --health-uri <path>      Health path (default /v2/health/ready).
          --health-port <port>     Health port (default: the inference port).
          --health-status <code>   Status the health path answers when ready (default 200).
          --body <json>            Body of the test invocation (default {}).
          --env <KEY=VALUE>        Container environment variable; repeatable.
          --gpu                    Pass a GPU to the container when the host has one (default: CPU only).
          --timeout <duration>     Seconds, or hh:mm:ss, to become healthy and to answer (default 300).
          --json                   Print the report as JSON.

        Exit code: 0 when every check passes, 1 when one fails, 2 for a usage error.
        """;

    /// <summary>Parses the arguments after the verb; returns null and the error for a usage error.</summary>
    public static ValidationOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        string? image = null, inferenceUrl = null, healthUri = null, body = null;
        int? inferencePort = null, healthPort = null, healthStatus = null;
        TimeSpan? timeout = null;
        bool gpu = false, json = false;
        var environment = new List<KeyValuePair<string, string>>();
        error = null;

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--gpu")
            {
                gpu = true;
                continue;
            }

            if (arg is "--json")
            {
                json = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (image is not null)
                {
                    error = $"Unexpected argument '{arg}': give one image.";
                    return null;
                }

                image = arg;
                continue;
            }

            if (i + 1 >= args.Count)
            {
                error = $"{arg} needs a value.";
                return null;
            }

            var value = args[++i];
            switch (arg)
            {
                case "--inference-url":
                    inferenceUrl = value;
                    break;
                case "--inference-port":
                    inferencePort = Port(arg, value, ref error);
                    break;
                case "--health-uri":
                    healthUri = value;
                    break;
                case "--health-port":
                    healthPort = Port(arg, value, ref error);
                    break;
                case "--health-status":
                    healthStatus = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var status) && status is >= 100 and <= 599
                        ? status
                        : Invalid<int>(ref error, $"--health-status must be an HTTP status code, not '{value}'.");
                    break;
                case "--body":
                    body = value;
                    break;
                case "--env":
                    if (value.IndexOf('=', StringComparison.Ordinal) is > 0 and var equals)
                    {
                        environment.Add(new(value[..equals], value[(equals + 1)..]));
                    }
                    else
                    {
                        error = $"--env takes KEY=VALUE, not '{value}'.";
                    }

                    break;
                case "--timeout":
                    timeout = ParseTimeout(value) ?? Invalid<TimeSpan>(ref error, $"--timeout takes seconds or hh:mm:ss, not '{value}'.");
                    break;
                default:
                    error = $"Unknown option '{arg}'.";
                    break;
            }

            if (error is not null)
            {
                return null;
            }
        }

        if (image is null)
        {
            error = "Give the image to validate, e.g. nvcf-emulator validate my-function:1.0 --inference-url /infer.";
            return null;
        }

        if (string.IsNullOrWhiteSpace(inferenceUrl))
        {
            error = "--inference-url is required: the path the function is invoked on, e.g. /echo.";
            return null;
        }

        if (body is not null && !IsJson(body))
        {
            error = "--body must be JSON, e.g. '{\"prompt\":\"hello\"}'.";
            return null;
        }

        return new ValidationOptions
        {
            Image = image,
            InferenceUrl = inferenceUrl,
            InferencePort = inferencePort ?? DefaultInferencePort,
            HealthUri = healthUri ?? DefaultHealthUri,
            HealthPort = healthPort,
            HealthExpectedStatus = healthStatus ?? 200,
            Body = body ?? "{}",
            Environment = environment,
            Gpu = gpu,
            Timeout = timeout ?? DefaultTimeout,
            Json = json,
        };
    }

    private static int Port(string option, string value, ref string? error) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : Invalid<int>(ref error, $"{option} must be a port number (1-65535), not '{value}'.");

    private static T Invalid<T>(ref string? error, string message)
    {
        error = message;
        return default!;
    }

    private static TimeSpan? ParseTimeout(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds)
        : TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero ? span
        : null;

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
