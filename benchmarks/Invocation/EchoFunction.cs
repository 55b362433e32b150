using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Nvcf.Benchmarks.Invocation;

/// <summary>
/// The echo function under test: created and deployed through the NVCF API (one instance), its container found
/// through the Docker CLI by the emulator's function-id label, and deleted at the end.
/// </summary>
internal sealed class EchoFunction
{
    public const string FunctionIdLabel = "com.nvidia.nvcf-emulator.function-id";
    private const int InferencePort = 8000;

    private readonly HttpClient _api;

    private EchoFunction(HttpClient api, string name, Guid id, Guid versionId)
    {
        _api = api;
        Name = name;
        Id = id;
        VersionId = versionId;
    }

    public string Name { get; }

    public Guid Id { get; }

    public Guid VersionId { get; }

    /// <summary>The container's published inference port, as <c>http://127.0.0.1:PORT</c>.</summary>
    public Uri? DirectBase { get; private set; }

    public string? ContainerId { get; private set; }

    /// <summary>
    /// The container's own address on the emulator's network, as <c>http://IP:8000</c>: its bridge IP, which the host
    /// reaches without Docker's userland proxy. Null when the container has no bridge address.
    /// </summary>
    public Uri? OwnBase { get; private set; }

    /// <summary>The network <see cref="OwnBase"/> is on.</summary>
    public string? OwnNetwork { get; private set; }

    public static HttpClient CreateApiClient(Uri emulator)
    {
        var api = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = emulator, Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "x");
        return api;
    }

    /// <summary>Creates the function; the caller deletes it (<see cref="DeleteAsync"/>) whatever happens next.</summary>
    public static async Task<EchoFunction> CreateAsync(HttpClient api, string image, CancellationToken cancellationToken)
    {
        var name = "bench-echo-" + Guid.NewGuid().ToString("N")[..8];
        var created = await SendJsonAsync(api, HttpMethod.Post, "/v2/nvcf/functions", Definition(name, image), cancellationToken);
        var function = created["function"] ?? throw new InvalidOperationException("create function: no 'function' in the answer");
        return new EchoFunction(api, name, Guid.Parse((string)function["id"]!), Guid.Parse((string)function["versionId"]!));
    }

    /// <summary>Adds a version of this function with the same definition; the caller deletes it too.</summary>
    public async Task<EchoFunction> AddVersionAsync(string image, CancellationToken cancellationToken)
    {
        var created = await SendJsonAsync(_api, HttpMethod.Post, $"/v2/nvcf/functions/{Id}/versions", Definition(Name, image), cancellationToken);
        var function = created["function"] ?? throw new InvalidOperationException("create version: no 'function' in the answer");
        return new EchoFunction(_api, Name, Id, Guid.Parse((string)function["versionId"]!));
    }

    /// <summary>
    /// Deploys the version and polls its deployment every <paramref name="pollEvery"/> (default 250 ms) until it is
    /// ACTIVE; returns the time from the deployment request to the first ACTIVE answer.
    /// </summary>
    public async Task<TimeSpan> DeployAsync(
        int maxRequestConcurrency, TimeSpan timeout, CancellationToken cancellationToken, int minInstances = 1, TimeSpan? pollEvery = null)
    {
        var body = new JsonObject
        {
            ["deploymentSpecifications"] = new JsonArray(new JsonObject
            {
                ["gpu"] = "L40",
                ["instanceType"] = "gl40_1.br20_2xlarge",
                ["minInstances"] = minInstances,
                ["maxInstances"] = 1,
                ["maxRequestConcurrency"] = maxRequestConcurrency,
            }),
        };
        var started = Stopwatch.GetTimestamp();
        await SendJsonAsync(_api, HttpMethod.Post, DeploymentPath, body, cancellationToken);

        var deadline = started + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var deployment = await SendJsonAsync(_api, HttpMethod.Get, DeploymentPath, null, cancellationToken);
            var status = (string?)deployment["deployment"]?["functionStatus"];
            if (status == "ACTIVE")
            {
                return Stopwatch.GetElapsedTime(started);
            }

            if (status is "ERROR" or "INACTIVE" || Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"the deployment did not become ACTIVE (status {status ?? "?"}): {deployment.ToJsonString()}");
            }

            await Task.Delay(pollEvery ?? TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    /// <summary>Waits until no container of this function is left (after <see cref="DeleteAsync"/>).</summary>
    public async Task WaitForNoContainerAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while ((await Docker.RunAsync(["ps", "-aq", "--filter", $"label={FunctionIdLabel}={Id}"], cancellationToken)).Trim().Length > 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"containers of function {Id} were still there {timeout.TotalSeconds:0} s after it was deleted");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Finds the function's one running container and the host port its inference port is published on.</summary>
    public async Task FindContainerAsync(CancellationToken cancellationToken)
    {
        var ids = (await Docker.RunAsync(["ps", "-q", "--no-trunc", "--filter", $"label={FunctionIdLabel}={Id}", "--filter", "status=running"], cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (ids.Length != 1)
        {
            throw new InvalidOperationException($"expected one running container labelled {FunctionIdLabel}={Id}, found {ids.Length}");
        }

        ContainerId = ids[0];
        var bindings = (await Docker.RunAsync(["port", ContainerId, $"{InferencePort}/tcp"], cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // "127.0.0.1:32768", possibly "[::1]:32768" too: IPv4 first.
        var binding = bindings.FirstOrDefault(b => !b.StartsWith('[')) ?? bindings.FirstOrDefault()
            ?? throw new InvalidOperationException($"port {InferencePort}/tcp of container {ContainerId} is not published");
        var colon = binding.LastIndexOf(':');
        var host = binding[..colon].Trim('[', ']');
        if (host is "0.0.0.0" or "::")
        {
            host = "127.0.0.1";
        }

        var port = int.Parse(binding[(colon + 1)..], CultureInfo.InvariantCulture);
        DirectBase = new Uri(host.Contains(':', StringComparison.Ordinal) ? $"http://[{host}]:{port}" : $"http://{host}:{port}");

        // "network ip" per line; the emulator's own network (nvcf-emulator-...) first, else any with an IPv4 address.
        var own = (await Docker.RunAsync(["inspect", "-f", "{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{$n.IPAddress}}\n{{end}}", ContainerId], cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2))
            .Where(parts => parts.Length == 2 && parts[1].Length > 0)
            .OrderBy(parts => parts[0].StartsWith("nvcf-emulator-", StringComparison.Ordinal) ? 0 : 1)
            .FirstOrDefault();
        if (own is [var network, var ip])
        {
            OwnNetwork = network;
            OwnBase = new Uri($"http://{ip}:{InferencePort.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    /// <summary>
    /// After failed requests: says so if the measured container is gone, since the errors then say nothing about
    /// the emulator (something else stopped or removed the container: a test's cleanup, <c>docker rm</c>, ...).
    /// </summary>
    public async Task ExplainContainerLossAsync()
    {
        if (ContainerId is null)
        {
            return;
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        string state;
        try
        {
            state = (await Docker.RunAsync(["inspect", "-f", "{{.State.Status}} (exit code {{.State.ExitCode}})", ContainerId], cts.Token)).Trim();
        }
        catch (InvalidOperationException)
        {
            state = "removed";
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (!state.StartsWith("running", StringComparison.Ordinal))
        {
            Console.Error.WriteLine(
                $"bench: the measured container {ContainerId[..12]} is no longer running ({state}): something stopped or removed it during the run "
                + "(another emulator's cleanup of containers it took for orphans, a test, docker rm). The errors say nothing about the emulator; run again.");
        }
    }

    /// <summary>Undeploys and deletes the version. Errors are reported, not thrown: this runs while cleaning up.</summary>
    public async Task DeleteAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var response = await _api.DeleteAsync(new Uri($"/v2/nvcf/functions/{Id}/versions/{VersionId}", UriKind.Relative), cts.Token);
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"cleanup: DELETE function version answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cts.Token)}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            Console.Error.WriteLine($"cleanup: could not delete function {Id} version {VersionId}: {e.Message}");
        }
    }

    /// <summary>Removes containers of this function still there (the emulator normally removes them itself).</summary>
    public async Task RemoveLeftoverContainersAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            var ids = (await Docker.RunAsync(["ps", "-aq", "--filter", $"label={FunctionIdLabel}={Id}"], cts.Token))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (ids.Length > 0)
            {
                Console.Error.WriteLine($"cleanup: removing {ids.Length} leftover container(s) of function {Id}");
                await Docker.RunAsync(["rm", "-f", .. ids], cts.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"cleanup: could not check for leftover containers: {e.Message}");
        }
    }

    private static JsonObject Definition(string name, string image) => new()
    {
        ["name"] = name,
        ["inferenceUrl"] = "/echo",
        ["inferencePort"] = InferencePort,
        ["containerImage"] = image,
    };

    private string DeploymentPath => $"/v2/nvcf/deployments/functions/{Id}/versions/{VersionId}";

    private static async Task<JsonNode> SendJsonAsync(HttpClient api, HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        using var response = await api.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text) ?? throw new InvalidOperationException($"{method} {path} answered no JSON");
    }
}

/// <summary>The Docker CLI, which honours DOCKER_HOST and contexts as the emulator does.</summary>
internal static class Docker
{
    public static async Task<string> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("docker", args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the docker CLI");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {(await stderr).Trim()}");
        }

        return await stdout;
    }
}
