using Aspire.Hosting.ApplicationModel;
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
internal sealed class NvcfFunctionProvisioner(NvcfFunctionDashboard dashboard, NvcfContainerLogs containerLogs)
{
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
        var candidates = function.FunctionId is { } parentId
            ? await client.ListVersionsAsync(parentId, cancellationToken)
            : [.. (await client.ListFunctionsAsync(cancellationToken)).Where(v => string.Equals(v.Name, function.FunctionName, StringComparison.Ordinal))];
        var latestFirst = candidates.OrderByDescending(v => v.CreatedAt).ToList();
        var own = latestFirst.Where(v => NvcfEmulatorClient.IsVersionOf(v, function)).ToList();
        var unclaimedMatch = latestFirst.FirstOrDefault(v => !NvcfEmulatorClient.HasResourceTag(v) && Matches(v, function));

        NvcfFunctionDto chosen;
        if (own.Count > 0 && Matches(own[0], function))
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
            chosen = await client.CreateVersionAsync(functionId, function, cancellationToken);
            NvcfLog.FunctionCreated(resourceLogger, chosen.Id, chosen.VersionId);
        }
        else
        {
            NvcfLog.CreatingFunction(resourceLogger, function.Name, function.Image, baseAddress);
            chosen = await client.CreateFunctionAsync(function, cancellationToken);
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

    /// <summary>Whether an existing version runs what the resource describes: image, inference URL and port, health path, environment.</summary>
    private static bool Matches(NvcfFunctionDto version, NvcfFunctionResource function)
    {
        var environment = function.ContainerEnvironment;
        return string.Equals(version.ContainerImage, function.Image, StringComparison.Ordinal)
            && string.Equals(version.InferenceUrl, function.InferenceUrl, StringComparison.Ordinal)
            && version.InferencePort == function.InferencePort
            && (function.HealthUri is null || string.Equals(version.HealthUri, function.HealthUri, StringComparison.Ordinal))
            && (version.ContainerEnvironment ?? []).Count == environment.Count
            && (version.ContainerEnvironment ?? []).All(e => environment.TryGetValue(e.Key, out var value) && value == e.Value);
    }
}
