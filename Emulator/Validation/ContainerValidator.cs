using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Routing;
using Nvcf.Emulator.Runtime;
using Nvcf.Emulator.Runtime.Docker;

namespace Nvcf.Emulator.Validation;

/// <summary>
/// Checks a function container before it is published. It runs the emulator itself in process, on a free loopback
/// port with its state in memory and a work folder of its own, creates the function, deploys it with one instance
/// and invokes it by pexec: the container gets exactly what a deployment gives it (environment, <c>/var/inf</c>
/// mounts, headers, GPU mode), and the answer is mapped as the cloud maps it. Whatever happens, the container and
/// the work folder are removed before <see cref="RunAsync"/> returns.
/// </summary>
public sealed class ContainerValidator(ValidationOptions options)
{
    /// <summary>
    /// Ports the platform uses inside the container (docs/nvcf-contract.md#ports-health-and-startup).
    /// </summary>
    public static readonly IReadOnlyList<int> ReservedPorts = [8080, 8010, 9190, 9191];

    private const string Token = "nvcf-emulator-validate";
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromSeconds(10);

    private int HealthPort => options.HealthPort ?? options.InferencePort;

    public async Task<ValidationReport> RunAsync(CancellationToken cancellationToken)
    {
        var report = new ValidationReport(options.Image);
        var workDirectory = string.Empty;
        await using var app = EmulatorApp.Build([], builder =>
        {
            var configured = builder.Configuration.GetSection(EmulatorOptions.SectionName).Get<EmulatorOptions>() ?? new EmulatorOptions();
            workDirectory = Path.Combine(configured.WorkDirectory, "validate-" + Guid.NewGuid().ToString("N")[..12]);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:state"] = string.Empty,
                ["Emulator:Redis"] = string.Empty,
                ["Emulator:WorkDirectory"] = workDirectory,
                ["Emulator:GrpcUrl"] = string.Empty,
                ["Emulator:ReadyTimeout"] = options.Timeout.ToString("c", CultureInfo.InvariantCulture),
                ["Emulator:Gpu:Mode"] = options.Gpu ? nameof(Runtime.Gpu.GpuMode.Auto) : nameof(Runtime.Gpu.GpuMode.None),
                ["Emulator:Gpu:Required"] = "false",
                ["Logging:LogLevel:Default"] = "None",
            });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        });

        var dockerOptions = app.Services.GetRequiredService<IOptions<DockerRuntimeOptions>>().Value;
        using var docker = (string.IsNullOrEmpty(dockerOptions.Endpoint) ? new DockerClientBuilder() : new DockerClientBuilder().WithEndpoint(new Uri(dockerOptions.Endpoint))).Build();
        if (!await CheckEngineAsync(docker, dockerOptions, report, cancellationToken)
            || await CheckImageAsync(docker, report, cancellationToken) is not { } image)
        {
            return report;
        }

        CheckUser(image, report);
        CheckPorts(image, report);

        Guid? functionId = null;
        try
        {
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            // A key that may create, deploy and invoke: the default account's, else one of an account with every scope.
            var settings = app.Services.GetRequiredService<IOptions<EmulatorOptions>>().Value;
            var apiKey = settings.ApiKeys.FirstOrDefault()
                ?? settings.Accounts.Values.Where(a => a.Scopes.Count == 0).SelectMany(a => a.ApiKeys).FirstOrDefault()
                ?? Token;
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false })
            {
                BaseAddress = new Uri(address),
                Timeout = Timeout.InfiniteTimeSpan,
            };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

            var function = await CreateFunctionAsync(http, report, cancellationToken);
            if (function is null)
            {
                return report;
            }

            functionId = function.Value.Id;
            var container = await DeployAsync(http, docker, function.Value, report, cancellationToken);
            if (container is null)
            {
                return report;
            }

            var outputs = new OutputWatcher(Path.Combine(workDirectory, "instances"));
            await using (outputs.Start())
            {
                await InvokeAsync(http, function.Value.Id, outputs, report, cancellationToken);
            }

            await CheckStillRunningAsync(docker, container, report, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            report.Fail("cancelled", "Validation was cancelled; the container was removed.");
        }
        catch (Exception e) when (e is HttpRequestException or DockerApiException or IOException or JsonException or InvalidDataException)
        {
            report.Fail("error", $"Validation stopped: {e.Message}");
        }
        finally
        {
            await CleanUpAsync(app, docker, functionId, workDirectory);
        }

        return report;
    }

    private static async Task<bool> CheckEngineAsync(DockerClient docker, DockerRuntimeOptions dockerOptions, ValidationReport report, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(EngineTimeout);
            var version = await docker.System.GetVersionAsync(timeout.Token);
            report.Pass("engine", $"Docker {version.Version} at {EngineAddress(dockerOptions)}");
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            report.Fail("engine", $"The Docker engine at {EngineAddress(dockerOptions)} is not reachable ({e.GetBaseException().Message}). "
                + "Start Docker, or point DOCKER_HOST (or Emulator__Docker__Endpoint) at a running engine, then run validate again.");
            return false;
        }
    }

    private static string EngineAddress(DockerRuntimeOptions dockerOptions) =>
        dockerOptions.Endpoint is { Length: > 0 } endpoint ? endpoint
        : System.Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host
        : "unix:///var/run/docker.sock";

    private async Task<ImageInspectResponse?> CheckImageAsync(DockerClient docker, ValidationReport report, CancellationToken cancellationToken)
    {
        try
        {
            var image = await docker.Images.InspectImageAsync(options.Image, cancellationToken);
            report.Pass("image", $"{options.Image} ({image.ID[..Math.Min(image.ID.Length, 19)]}, {image.Size / (1024.0 * 1024.0):0.#} MiB)");
            return image;
        }
        catch (DockerImageNotFoundException)
        {
            report.Fail("image", $"The image {options.Image} is not on the Docker engine. Build it (docker build -t {options.Image} <folder>) "
                + $"or pull it (docker pull {options.Image}), then run validate again.");
            return null;
        }
        catch (DockerApiException e)
        {
            report.Fail("image", $"The engine refused to look up {options.Image} ({(int)e.StatusCode}): {e.ResponseBody?.Trim()}");
            return null;
        }
    }

    /// <summary>
    /// NVCF functions must not run as root (docs/nvcf-contract.md#ports-health-and-startup): the image's <c>USER</c>
    /// decides.
    /// </summary>
    private static void CheckUser(ImageInspectResponse image, ValidationReport report)
    {
        var user = image.Config?.User ?? string.Empty;
        var name = user.Split(':')[0];
        if (name is "" or "root" or "0")
        {
            report.Fail("user", $"The image runs as root ({(user.Length == 0 ? "no USER" : "USER " + user)}). NVCF functions must not: "
                + "add a non-root user and USER <name> to the Dockerfile.");
        }
        else
        {
            report.Pass("user", $"runs as '{user}', not root");
        }
    }

    /// <summary>
    /// The function's ports, and the ports the image exposes, must avoid the platform's
    /// (docs/nvcf-contract.md#ports-health-and-startup).
    /// </summary>
    private void CheckPorts(ImageInspectResponse image, ValidationReport report)
    {
        var exposed = (image.Config?.ExposedPorts?.Keys ?? [])
            .Select(p => int.TryParse(p.Split('/')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 0)
            .Where(p => p > 0)
            .ToList();
        var clashes = new List<string>();
        if (ReservedPorts.Contains(options.InferencePort))
        {
            clashes.Add($"--inference-port {options.InferencePort}");
        }

        if (ReservedPorts.Contains(HealthPort) && HealthPort != options.InferencePort)
        {
            clashes.Add($"--health-port {HealthPort}");
        }

        clashes.AddRange(exposed.Where(ReservedPorts.Contains).Select(p => $"EXPOSE {p}"));
        var reserved = string.Join(", ", ReservedPorts);
        if (clashes.Count > 0)
        {
            report.Fail("ports", $"{string.Join(", ", clashes)} {(clashes.Count == 1 ? "uses" : "use")} a port NVCF reserves ({reserved}): serve on another, e.g. 8000.");
        }
        else
        {
            var shown = exposed.Count == 0 ? "exposes none" : "exposes " + string.Join(", ", exposed);
            report.Pass("ports", $"serves on {options.InferencePort}{(HealthPort == options.InferencePort ? string.Empty : $" (health {HealthPort})")}, {shown}; none reserved ({reserved})");
        }
    }

    private async Task<(Guid Id, Guid VersionId)?> CreateFunctionAsync(HttpClient http, ValidationReport report, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["name"] = "validate",
            ["inferenceUrl"] = options.InferenceUrl,
            ["inferencePort"] = options.InferencePort,
            ["health"] = new JsonObject
            {
                ["protocol"] = "HTTP",
                ["uri"] = options.HealthUri,
                ["port"] = HealthPort,
                ["timeout"] = "PT10S",
                ["expectedStatusCode"] = options.HealthExpectedStatus,
            },
            ["containerImage"] = options.Image,
            ["containerEnvironment"] = new JsonArray([.. options.Environment.Select(e => (JsonNode)new JsonObject { ["key"] = e.Key, ["value"] = e.Value })]),
        };
        using var response = await http.PostAsync("/v2/nvcf/functions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), cancellationToken);
        var answer = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            report.Fail("function", $"NVCF would refuse this function ({(int)response.StatusCode}): {ProblemDetail(answer)}");
            return null;
        }

        var function = JsonNode.Parse(answer)!["function"]!;
        return (Guid.Parse((string)function["id"]!), Guid.Parse((string)function["versionId"]!));
    }

    /// <summary>Deploys one instance and waits for it: the <c>start</c> and <c>health</c> checks. Returns the container's ID when it is ready.</summary>
    private async Task<string?> DeployAsync(HttpClient http, DockerClient docker, (Guid Id, Guid VersionId) function, ValidationReport report, CancellationToken cancellationToken)
    {
        var path = $"/v2/nvcf/deployments/functions/{function.Id}/versions/{function.VersionId}";
        var spec = """{"deploymentSpecifications":[{"gpu":"L40","instanceType":"gl40_1.br20_2xlarge","minInstances":1,"maxInstances":1,"maxRequestConcurrency":1}]}""";
        using (var deployed = await http.PostAsync(path, new StringContent(spec, Encoding.UTF8, "application/json"), cancellationToken))
        {
            if (!deployed.IsSuccessStatusCode)
            {
                report.Fail("start", $"The deployment was refused ({(int)deployed.StatusCode}): {ProblemDetail(await deployed.Content.ReadAsStringAsync(cancellationToken))}");
                return null;
            }
        }

        var clock = Stopwatch.StartNew();
        var deadline = options.Timeout + TimeSpan.FromSeconds(30);
        ContainerInspectResponse? seen = null;
        while (true)
        {
            seen = await FindContainerAsync(docker, function.Id, cancellationToken) ?? seen;
            using var response = await http.GetAsync(path, cancellationToken);
            var deployment = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!["deployment"]!;
            var status = (string?)deployment["functionStatus"];
            if (status == "ACTIVE" && seen is not null)
            {
                report.Pass("start", $"container {seen.Name.TrimStart('/')} started ({Describe(seen)})");
                report.Pass("health", $"GET :{HealthPort}{options.HealthUri} answered {options.HealthExpectedStatus} after {clock.Elapsed.TotalSeconds:0.0} s");
                return seen.ID;
            }

            if (status == "ERROR" || clock.Elapsed > deadline)
            {
                var cause = (string?)deployment["healthInfo"]?[0]?["error"] ?? $"still {status} after {Seconds(options.Timeout)}";
                // The emulator stops the container of a failed instance: its cause, not the container's state now,
                // tells a container that ended on its own from one that was stopped.
                var exited = cause.Contains(Orchestration.InstanceRunner.EndedBeforeReady, StringComparison.Ordinal);
                if (seen is null)
                {
                    report.Fail("start", $"No container started: {cause}");
                }
                else if (exited)
                {
                    report.Fail("start", $"The container stopped before it was ready: {cause}");
                }
                else
                {
                    report.Pass("start", $"container {seen.Name.TrimStart('/')} started and kept running");
                }

                if (seen is null || exited)
                {
                    report.Skip("health", "The container did not run long enough to be checked.");
                }
                else
                {
                    report.Fail("health", $"GET :{HealthPort}{options.HealthUri} did not answer {options.HealthExpectedStatus} within {Seconds(options.Timeout)}: {cause} "
                        + "Check --health-uri, --health-port and --health-status against what the server serves.");
                }

                report.Skip("invoke", "The function never became ready.");
                return null;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    /// <summary>Invokes the function by pexec, following 202s as a client does: the <c>invoke</c>, <c>response</c> and <c>outputs</c> checks.</summary>
    private async Task InvokeAsync(HttpClient http, Guid functionId, OutputWatcher outputs, ValidationReport report, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        var clock = Stopwatch.StartNew();
        var progress = new List<string>();
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/nvcf/pexec/functions/{functionId}")
            {
                Content = new StringContent(options.Body, Encoding.UTF8, "application/json"),
            };
            request.Headers.Add(NvcfHeaders.PollSeconds, "5");
            response = await http.SendAsync(request, timeout.Token);
            while (response.StatusCode == HttpStatusCode.Accepted)
            {
                if (response.Headers.TryGetValues(NvcfHeaders.PercentComplete, out var percent))
                {
                    progress.Add(percent.First() + "%");
                }

                var requestId = response.Headers.GetValues(NvcfHeaders.RequestId).First();
                response.Dispose();
                using var poll = new HttpRequestMessage(HttpMethod.Get, $"/v2/nvcf/pexec/status/{requestId}");
                poll.Headers.Add(NvcfHeaders.PollSeconds, "5");
                response = await http.SendAsync(poll, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            report.Fail("invoke", $"POST {options.InferenceUrl} through pexec did not answer within {Seconds(options.Timeout)}.");
            report.Skip("response", "No answer.");
            report.Skip("outputs", "No answer.");
            return;
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var mediaType = response.Content.Headers.ContentType?.MediaType ?? "no content type";
            var took = $"{clock.Elapsed.TotalMilliseconds:0} ms";
            var progressNote = progress.Count == 0 ? string.Empty : $", progress {string.Join(" → ", progress)}";
            IReadOnlyList<string> zipEntries = [];
            if (status is >= 200 and < 300 || status == 302)
            {
                report.Pass("invoke", $"POST {options.InferenceUrl} through pexec answered {status} in {took}{progressNote}");
            }
            else
            {
                report.Fail("invoke", $"POST {options.InferenceUrl} through pexec answered {status} in {took}: {ProblemDetail(Encoding.UTF8.GetString(body))}");
            }

            if (status == 302)
            {
                zipEntries = await DownloadEntriesAsync(http, response.Headers.Location, cancellationToken);
                report.Pass("response", $"302 to a large result (over 5 MiB, or large output files), as the cloud answers: {zipEntries.Count} file(s) in the zip");
            }
            else if (status is >= 200 and < 300)
            {
                report.Pass("response", $"{status}, {body.Length} bytes of {mediaType}, delivered directly (at most 5 MiB)");
            }
            else if (mediaType == "application/problem+json")
            {
                report.Pass("response", $"{status} as problem details ({mediaType}), as the cloud maps 4xx/5xx");
            }
            else
            {
                report.Fail("response", $"{status} with {mediaType}, not problem details");
            }

            outputs.Report(report, zipEntries);
        }
    }

    private static async Task<IReadOnlyList<string>> DownloadEntriesAsync(HttpClient http, Uri? location, CancellationToken cancellationToken)
    {
        if (location is null)
        {
            return [];
        }

        using var zip = new ZipArchive(new MemoryStream(await http.GetByteArrayAsync(location, cancellationToken)));
        return [.. zip.Entries.Select(e => e.FullName)];
    }

    private static async Task CheckStillRunningAsync(DockerClient docker, string containerId, ValidationReport report, CancellationToken cancellationToken)
    {
        var container = await docker.Containers.InspectContainerAsync(containerId, cancellationToken);
        if (container.State is { Running: true } && container.RestartCount == 0)
        {
            report.Pass("stays up", "still running after the invocation");
        }
        else
        {
            report.Fail("stays up", $"The container stopped after the invocation ({Describe(container)}). A function must keep serving.");
        }
    }

    private static async Task<ContainerInspectResponse?> FindContainerAsync(DockerClient docker, Guid functionId, CancellationToken cancellationToken)
    {
        var containers = await docker.Containers.ListContainersAsync(OfFunction(functionId), cancellationToken);
        try
        {
            return containers.Count == 0 ? null : await docker.Containers.InspectContainerAsync(containers[0].ID, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            // Removed between the list and the look: the emulator replaced a failed instance. The deployment's status
            // says why, on the next round.
            return null;
        }
    }

    private static ContainersListParameters OfFunction(Guid functionId) => new()
    {
        All = true,
        Filters = new Dictionary<string, IDictionary<string, bool>>
        {
            ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.FunctionId}={functionId}"] = true },
        },
    };

    private static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.#} s");

    private static string Describe(ContainerInspectResponse container) =>
        container.State is { Running: true } ? $"running, {Gpu(container)}" : $"{container.State?.Status}, exit code {container.State?.ExitCode}";

    /// <summary>What the container was given, as the emulator labels it: e.g. <c>CPU (no GPU passed through)</c>.</summary>
    private static string Gpu(ContainerInspectResponse container) =>
        container.Config?.Labels?.TryGetValue(ContainerLabels.GpuDescription, out var gpu) == true && gpu.Length > 0 ? gpu : "no GPU";

    /// <summary>The <c>detail</c> of a problem answer, else its text.</summary>
    private static string ProblemDetail(string answer)
    {
        try
        {
            if (JsonNode.Parse(answer) is JsonObject problem && (string?)problem["detail"] is { Length: > 0 } detail)
            {
                return detail;
            }
        }
        catch (JsonException)
        {
        }

        return answer.Length > 500 ? answer[..500] + "…" : answer;
    }

    /// <summary>Undeploys, stops the emulator, removes any container of the function left behind and the work folder.</summary>
    private static async Task CleanUpAsync(WebApplication app, DockerClient docker, Guid? functionId, string workDirectory)
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await app.StopAsync(budget.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
        }

        if (functionId is { } id)
        {
            try
            {
                foreach (var left in await docker.Containers.ListContainersAsync(OfFunction(id), budget.Token))
                {
                    await docker.Containers.RemoveContainerAsync(left.ID, new ContainerRemoveParameters { Force = true }, budget.Token);
                }
            }
            catch (Exception e) when (e is DockerApiException or HttpRequestException or OperationCanceledException)
            {
            }
        }

        try
        {
            if (Directory.Exists(workDirectory))
            {
                Directory.Delete(workDirectory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
