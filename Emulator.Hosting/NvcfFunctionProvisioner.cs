using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>What a deploy does beyond deploying: nothing else, remove the deployment first, or replace its instances.</summary>
internal enum NvcfDeployKind
{
    /// <summary>Deploy unless already deployed (an ERROR deployment is replaced).</summary>
    Deploy,

    /// <summary>Rebuild (Dockerfile functions), remove the deployment, deploy again.</summary>
    Redeploy,

    /// <summary>Remove the deployment and deploy the same specification and image again, no rebuild.</summary>
    Restart,
}

/// <summary>
/// The API steps of one deploy or undeploy of a function or version: build its image, find it on the emulator or
/// create it (a version once its function exists), deploy or undeploy it. Progress goes to the dashboard; the status
/// that follows is the <see cref="NvcfDeploymentWatcher"/>'s.
/// </summary>
internal sealed class NvcfFunctionProvisioner(NvcfFunctionDashboard dashboard, NvcfContainerLogs containerLogs, IConfiguration configuration)
{
    private readonly SemaphoreSlim _dashboardTelemetry = new(1, 1);

    /// <summary>
    /// Builds the image if the resource has a Dockerfile (not on restart), finds or creates the function or version, and
    /// deploys it unless it is already deployed; on redeploy and restart (or after an ERROR) removes the deployment first.
    /// A version first waits for <paramref name="functionCreated"/>, its function's ID.
    /// </summary>
    public async Task<string> DeployAsync(NvcfEmulatorClient client, NvcfFunctionResource function, NvcfDeployKind kind, Task<Guid>? functionCreated, CancellationToken cancellationToken)
    {
        var resourceLogger = dashboard.LoggerFor(function);
        await dashboard.StartingAsync(function);

        if (function.ImageBuild is { } build && kind != NvcfDeployKind.Restart)
        {
            await dashboard.StateAsync(function, NvcfFunctionDashboard.Building);
            await NvcfImageBuilder.BuildAsync(function.Image, build, resourceLogger, cancellationToken);
        }

        if (function.Function is { } parent && function.FunctionId is null)
        {
            function.FunctionId = parent.FunctionId ?? await WaitForFunctionAsync(parent, function, functionCreated, resourceLogger, cancellationToken);
        }

        await dashboard.StateAsync(function, NvcfFunctionDashboard.Deploying);
        if (function.FunctionId is not { } functionId || function.VersionId is not { } versionId)
        {
            (functionId, versionId) = await FindOrCreateAsync(client, function, resourceLogger, cancellationToken);
        }

        // The version may be deployed already: by an earlier command, or before the emulator restarted (Redis state).
        var existing = await client.FindDeploymentAsync(functionId, versionId, cancellationToken);
        if (existing is not null && kind == NvcfDeployKind.Deploy && existing.FunctionStatus != "ERROR")
        {
            return $"'{function.Name}' is already deployed ({existing.FunctionStatus}).";
        }

        if (existing is not null)
        {
            if (kind == NvcfDeployKind.Restart)
            {
                NvcfLog.RestartingInstances(resourceLogger, function.Name);
            }
            else
            {
                NvcfLog.Undeploying(resourceLogger, function.Name);
            }

            await client.UndeployAsync(functionId, versionId, cancellationToken);
        }

        NvcfLog.Deploying(resourceLogger, NvcfFunctionDashboard.Describe(function.Deployment));
        var deployment = await client.DeployAsync(functionId, versionId, function.Deployment, cancellationToken);
        await dashboard.DeploymentRequestedAsync(function, deployment.FunctionStatus);
        return kind switch
        {
            NvcfDeployKind.Restart => $"Restarting the instances of '{function.Name}'.",
            NvcfDeployKind.Redeploy => $"Redeploying '{function.Name}'.",
            _ => $"Deploying '{function.Name}'.",
        };
    }

    /// <summary>Removes the deployment and its containers; the function and version remain.</summary>
    public async Task<string> UndeployAsync(NvcfEmulatorClient client, NvcfFunctionResource function, CancellationToken cancellationToken)
    {
        if (function.FunctionId is not { } functionId || function.VersionId is not { } versionId)
        {
            return $"'{function.Name}' has not been created: there is nothing to undeploy.";
        }

        await dashboard.StateAsync(function, NvcfFunctionDashboard.Undeploying);
        NvcfLog.Undeploying(dashboard.LoggerFor(function), function.Name);
        var removed = await client.UndeployAsync(functionId, versionId, cancellationToken);
        containerLogs.StopAll(function);
        await dashboard.UndeployedAsync(function);
        return removed ? $"Undeployed '{function.Name}'." : $"'{function.Name}' had no deployment.";
    }

    /// <summary>A version's function ID: its function's, once the function is created; the function's failure is the version's.</summary>
    private async Task<Guid> WaitForFunctionAsync(NvcfFunctionResource parent, NvcfFunctionResource version, Task<Guid>? functionCreated, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        if (functionCreated is null)
        {
            throw new InvalidOperationException($"The function '{parent.Name}' has not been created: deploy it first.");
        }

        await dashboard.StateAsync(version, NvcfFunctionDashboard.Waiting);
        NvcfLog.WaitingForFunction(resourceLogger, version.Name, parent.Name);
        try
        {
            return await functionCreated.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"The function '{parent.Name}' was not created, so its version '{version.Name}' cannot be: {e.Message}", e);
        }
    }

    /// <summary>
    /// Finds the resource's own version on the emulator (it keeps functions across restarts with Redis state): the latest
    /// version tagged with the resource's name, reused when it still matches the resource's definition, else a new
    /// version is added next to it. Without a tagged version, a version that no resource claims and that matches the
    /// definition is reused (made before the integration tagged versions, or by hand). A function without any creates
    /// the function (by name, else a new one); a version adds a version to its function's ID. Other deployed versions
    /// tagged with the resource's name are undeployed: each resource has one version deployed.
    /// </summary>
    private async Task<(Guid FunctionId, Guid VersionId)> FindOrCreateAsync(NvcfEmulatorClient client, NvcfFunctionResource function, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        var baseAddress = client.BaseAddress;
        var telemetryId = function.SendsTelemetry ? await DashboardTelemetryAsync(client, resourceLogger, cancellationToken) : null;
        var candidates = function.FunctionId is { } parentId
            ? await client.ListVersionsAsync(parentId, cancellationToken)
            : [.. (await client.ListFunctionsAsync(cancellationToken)).Where(v => string.Equals(v.Name, function.FunctionName, StringComparison.Ordinal))];
        var latestFirst = candidates.OrderByDescending(v => v.CreatedAt).ToList();
        var own = latestFirst.Where(v => NvcfEmulatorClient.IsVersionOf(v, function)).ToList();
        var unclaimedMatch = latestFirst.FirstOrDefault(v => !NvcfEmulatorClient.HasResourceTag(v) && Matches(v, function, telemetryId));

        NvcfFunctionDto chosen;
        if (own.Count > 0 && Matches(own[0], function, telemetryId))
        {
            chosen = own[0];
            NvcfLog.ReusingFunction(resourceLogger, function.Name, chosen.Id, chosen.VersionId, baseAddress);
        }
        else if (own.Count == 0 && unclaimedMatch is not null)
        {
            chosen = unclaimedMatch;
            NvcfLog.ReusingFunction(resourceLogger, function.Name, chosen.Id, chosen.VersionId, baseAddress);
        }
        else if ((function.FunctionId ?? own.FirstOrDefault()?.Id ?? latestFirst.FirstOrDefault()?.Id) is { } functionId)
        {
            NvcfLog.CreatingVersion(resourceLogger, function.Name, function.FunctionName, functionId, function.Image);
            chosen = await client.CreateVersionAsync(functionId, function, telemetryId, cancellationToken);
            NvcfLog.FunctionCreated(resourceLogger, chosen.Id, chosen.VersionId);
        }
        else
        {
            NvcfLog.CreatingFunction(resourceLogger, function.Name, function.Image, baseAddress);
            chosen = await client.CreateFunctionAsync(function, telemetryId, cancellationToken);
            NvcfLog.FunctionCreated(resourceLogger, chosen.Id, chosen.VersionId);
        }

        foreach (var stale in own.Where(v => v.VersionId != chosen.VersionId && v.Status is not "INACTIVE"))
        {
            NvcfLog.UndeployingStaleVersion(resourceLogger, function.Name, stale.VersionId);
            await client.UndeployAsync(stale.Id, stale.VersionId, cancellationToken);
        }

        function.FunctionId = chosen.Id;
        function.VersionId = chosen.VersionId;
        await dashboard.CreatedAsync(function, baseAddress, chosen.Id, chosen.VersionId);
        return (chosen.Id, chosen.VersionId);
    }

    /// <summary>
    /// The telemetry on the emulator that points at the dashboard's OTLP endpoint (<c>aspire-dashboard-&lt;port&gt;</c>,
    /// provider <c>OTEL_COLLECTOR</c>, all signals), created on first use or found with its secret renewed: the
    /// dashboard's API key, sent as <c>x-otlp-api-key</c>. Null when the app host has no dashboard.
    /// </summary>
    private async Task<Guid?> DashboardTelemetryAsync(NvcfEmulatorClient client, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        // Looked up on every deploy (an emulator without durable state forgets it when it restarts), one at a time.
        await _dashboardTelemetry.WaitAsync(cancellationToken);
        try
        {
            return await CreateDashboardTelemetryAsync(client, resourceLogger, cancellationToken);
        }
        finally
        {
            _dashboardTelemetry.Release();
        }
    }

    private async Task<Guid?> CreateDashboardTelemetryAsync(NvcfEmulatorClient client, ILogger resourceLogger, CancellationToken cancellationToken)
    {
        // What Aspire's WithOtlpExporter gives a resource: the dashboard's OTLP/gRPC endpoint (else its OTLP/HTTP one) and API key.
        var (endpoint, protocol) = configuration["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] is { Length: > 0 } grpc ? (grpc, "GRPC")
            : configuration["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] is { Length: > 0 } http ? (http, "HTTP")
            : (null, null);
        if (endpoint is null || protocol is null)
        {
            NvcfLog.NoDashboardForTelemetry(resourceLogger);
            return null;
        }

        var name = "aspire-dashboard-" + new Uri(endpoint).Port;
        JsonNode value = configuration["AppHost:OtlpApiKey"] is { Length: > 0 } key ? new JsonObject { ["x-otlp-api-key"] = key } : JsonValue.Create("none");
        var secret = new NvcfTelemetrySecret(name, value);
        if ((await client.ListTelemetriesAsync(cancellationToken)).FirstOrDefault(t => t.Name == name) is { } existing)
        {
            await client.UpdateTelemetrySecretAsync(existing.TelemetryId, secret, cancellationToken);
            return existing.TelemetryId;
        }

        var created = await client.CreateTelemetryAsync(new NvcfTelemetryRequest(endpoint, protocol, "OTEL_COLLECTOR", ["LOGS", "METRICS", "TRACES"], secret), cancellationToken);
        NvcfLog.DashboardTelemetryCreated(resourceLogger, created.TelemetryId, endpoint);
        return created.TelemetryId;
    }

    /// <summary>
    /// Whether an existing version runs what the resource describes: image, inference URL and port, health path,
    /// environment, and the dashboard's telemetry (or none).
    /// </summary>
    private static bool Matches(NvcfFunctionDto version, NvcfFunctionResource function, Guid? telemetryId)
    {
        var environment = function.ContainerEnvironment;
        return version.Telemetries?.TracesTelemetryId == telemetryId
            && string.Equals(version.ContainerImage, function.Image, StringComparison.Ordinal)
            && string.Equals(version.InferenceUrl, function.InferenceUrl, StringComparison.Ordinal)
            && version.InferencePort == function.InferencePort
            && (function.HealthUri is null || string.Equals(version.HealthUri, function.HealthUri, StringComparison.Ordinal))
            && (version.ContainerEnvironment ?? []).Count == environment.Count
            && (version.ContainerEnvironment ?? []).All(e => environment.TryGetValue(e.Key, out var value) && value == e.Value);
    }
}
