using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.Runtime;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Deployments (docs/nvcf-contract.md#deployments): deploy a version onto instances, inspect, scale, undeploy.
/// </summary>
public static class DeploymentsApi
{
    private const string RequestObject = "functionDeploymentRequest";

    public static IEndpointRouteBuilder MapDeploymentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/deployments").WithTags("Deployments");

        api.MapPost("/functions/{functionId}/versions/{versionId}", CreateDeployment).WithName("CreateDeployment")
            .WithSummary("Deploy a version onto instances");
        api.MapGet("/functions/{functionId}/versions/{versionId}", GetDeployment).WithName("GetDeployment").WithSummary("Get a version's deployment");
        api.MapPut("/functions/{functionId}/versions/{versionId}", UpdateDeployment).WithName("UpdateDeployment")
            .WithSummary("Replace a deployment's specifications (deprecated: use PATCH of a GPU specification)");
        api.MapDelete("/functions/{functionId}/versions/{versionId}", DeleteDeployment).WithName("DeleteDeployment")
            .WithSummary("Undeploy a version, at once or gracefully");
        api.MapGet("/{deploymentId}", GetDeploymentById).WithName("GetDeploymentById").WithSummary("Get a deployment by its ID");
        api.MapPatch("/{deploymentId}/gpu-specifications/{gpuSpecificationId}", UpdateGpuSpecification).WithName("UpdateGpuSpecification")
            .WithSummary("Scale one GPU specification of a deployment");
        return app;
    }

    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> CreateDeployment(
        Guid functionId, Guid versionId, DeploymentRequest request, HttpRequest http, IFunctionStore store, IFunctionRuntime runtime, KeyedLock locks,
        DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        if (version is null)
        {
            return FunctionsApi.VersionNotFound(functionId, versionId, options.Value);
        }

        var prefix = $"Function id '{functionId}', version '{versionId}':";
        switch (version.Status)
        {
            case FunctionStatus.Active or FunctionStatus.Deploying or FunctionStatus.Degrading or FunctionStatus.Degraded:
                return Problems.BadRequest($"{prefix} Status {version.Status.ToString().ToUpperInvariant()}, use PATCH endpoint to update gpu-specification");
            case FunctionStatus.Error:
                return Problems.BadRequest($"{prefix} Function already has a deployment with errors");
        }

        if (await store.GetDeploymentAsync(versionId, cancellationToken) is { Draining: true })
        {
            return Problems.BadRequest($"{prefix} Wait for current deployment to be gracefully completed and removed.");
        }

        if (version.ContainerImage is null)
        {
            return Problems.BadRequest($"{prefix} the emulator runs container functions only; this version is a {(version.HelmChart is not null ? "Helm chart" : "models-only")} function");
        }

        if (ValidateSpecifications(request.DeploymentSpecifications) is { } error)
        {
            return Problems.BadRequest(error);
        }

        var specifications = request.DeploymentSpecifications!.Select(s => ToDomain(s, Guid.NewGuid())).ToList();
        if (await Quotas.CheckDeploymentAsync(versionId, specifications, store, options.Value, cancellationToken) is { } quota)
        {
            return Problems.BadRequest(quota);
        }

        var now = DateTime.UtcNow;
        var deployment = new Deployment
        {
            DeploymentId = Guid.NewGuid(),
            FunctionId = functionId,
            VersionId = versionId,
            Specifications = specifications,
            CreatedAt = now,
            LastUpdatedAt = now,
        };
        await store.SaveDeploymentAsync(deployment, cancellationToken);
        var status = await orchestrator.DeployAsync(version, deployment, cancellationToken);
        return TypedResults.Ok(new DeploymentResponse(DeploymentDto.From(version with { Status = status }, deployment, BaseAddress(http), await runtime.GetGpuPassthroughAsync(cancellationToken))));
    }

    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> GetDeployment(
        Guid functionId, Guid versionId, HttpRequest http, IFunctionStore store, IFunctionRuntime runtime, CancellationToken cancellationToken)
    {
        var version = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        var deployment = version is null ? null : await store.GetDeploymentAsync(versionId, cancellationToken);
        return version is null || deployment is null
            ? Problems.NotFound($"Function version '{versionId}': Deployment not found")
            : TypedResults.Ok(new DeploymentResponse(DeploymentDto.From(version, deployment, BaseAddress(http), await runtime.GetGpuPassthroughAsync(cancellationToken))));
    }

    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> GetDeploymentById(
        Guid deploymentId, HttpRequest http, IFunctionStore store, IFunctionRuntime runtime, CancellationToken cancellationToken)
    {
        var deployment = await store.GetDeploymentByIdAsync(deploymentId, cancellationToken);
        var version = deployment is null ? null : await store.GetVersionAsync(deployment.FunctionId, deployment.VersionId, cancellationToken);
        return deployment is null || version is null
            ? Problems.NotFound($"Deployment id '{deploymentId}': Deployment not found")
            : TypedResults.Ok(new DeploymentResponse(DeploymentDto.From(version, deployment, BaseAddress(http), await runtime.GetGpuPassthroughAsync(cancellationToken))));
    }

    /// <summary>Deprecated full update: instance counts and concurrency may change, GPU type and backend may not.</summary>
    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> UpdateDeployment(
        Guid functionId, Guid versionId, DeploymentRequest request, HttpRequest http, IFunctionStore store, IFunctionRuntime runtime, KeyedLock locks,
        DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        var current = version is null ? null : await store.GetDeploymentAsync(versionId, cancellationToken);
        if (version is null || current is null || current.Draining)
        {
            return Problems.NotFound($"Function version '{versionId}': Deployment not found");
        }

        if (ValidateSpecifications(request.DeploymentSpecifications) is { } error)
        {
            return Problems.BadRequest(error);
        }

        var specifications = new List<GpuSpecification>();
        for (var i = 0; i < request.DeploymentSpecifications!.Count; i++)
        {
            var asked = request.DeploymentSpecifications[i];
            var existing = asked.GpuSpecificationId is { } id
                ? current.Specifications.FirstOrDefault(s => s.GpuSpecificationId == id)
                : current.Specifications.FirstOrDefault(s => s.Gpu == asked.Gpu && s.InstanceType == asked.InstanceType);
            if (existing is not null && (existing.Gpu != asked.Gpu || (asked.Backend is not null && existing.Backend != asked.Backend)))
            {
                return Problems.BadRequest($"Invalid request: GPU type and backend of gpu-specification '{existing.GpuSpecificationId}' cannot change");
            }

            specifications.Add(ToDomain(asked, existing?.GpuSpecificationId ?? Guid.NewGuid()));
        }

        if (await Quotas.CheckDeploymentAsync(versionId, specifications, store, options.Value, cancellationToken) is { } quota)
        {
            return Problems.BadRequest(quota);
        }

        var updated = await store.UpdateDeploymentAsync(
            versionId, d => d with { Specifications = specifications, LastUpdatedAt = DateTime.UtcNow }, cancellationToken);
        orchestrator.Update(updated!);
        return TypedResults.Ok(new DeploymentResponse(DeploymentDto.From(version, updated!, BaseAddress(http), await runtime.GetGpuPassthroughAsync(cancellationToken))));
    }

    public static async Task<Results<Ok<GpuSpecificationResponse>, ProblemHttpResult>> UpdateGpuSpecification(
        Guid deploymentId, Guid gpuSpecificationId, UpdateGpuSpecificationRequest request, IFunctionStore store, IFunctionRuntime runtime, KeyedLock locks,
        DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        var found = await store.GetDeploymentByIdAsync(deploymentId, cancellationToken);
        if (found is null)
        {
            return Problems.NotFound($"Deployment id '{deploymentId}': Deployment not found");
        }

        using var _ = await locks.AcquireAsync(found.FunctionId, cancellationToken);
        var current = await store.GetDeploymentAsync(found.VersionId, cancellationToken);
        var spec = current?.Specifications.FirstOrDefault(s => s.GpuSpecificationId == gpuSpecificationId);
        if (current is null || current.DeploymentId != deploymentId || spec is null)
        {
            return Problems.NotFound($"Deployment id '{deploymentId}': GPU specification '{gpuSpecificationId}' not found");
        }

        var changed = spec with
        {
            MinInstances = request.MinInstances ?? spec.MinInstances,
            MaxInstances = request.MaxInstances ?? spec.MaxInstances,
            AutoscalingConfiguration = request.AutoscalingConfiguration ?? spec.AutoscalingConfiguration,
        };
        if (changed.MinInstances < 0 || changed.MaxInstances < 1)
        {
            return Problems.BadRequest("Invalid request: 'minInstances' must be at least 0 and 'maxInstances' at least 1");
        }

        if (changed.MinInstances > changed.MaxInstances)
        {
            return Problems.BadRequest("Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'");
        }

        var specifications = current.Specifications.Select(s => s.GpuSpecificationId == gpuSpecificationId ? changed : s).ToList();
        if (await Quotas.CheckDeploymentAsync(current.VersionId, specifications, store, options.Value, cancellationToken) is { } quota)
        {
            return Problems.BadRequest(quota);
        }

        var updated = await store.UpdateDeploymentAsync(
            current.VersionId,
            d => d with
            {
                Specifications = [.. d.Specifications.Select(s => s.GpuSpecificationId == gpuSpecificationId ? changed : s)],
                LastUpdatedAt = DateTime.UtcNow,
            },
            cancellationToken);
        orchestrator.Update(updated!);
        return TypedResults.Ok(new GpuSpecificationResponse(GpuSpecificationDto.From(changed, await runtime.GetGpuPassthroughAsync(cancellationToken))));
    }

    /// <summary>
    /// Undeploys (docs/nvcf-contract.md#undeploy): INACTIVE at once; <c>graceful=true</c> lets queued and running
    /// requests finish.
    /// </summary>
    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> DeleteDeployment(
        Guid functionId, Guid versionId, bool? graceful, IFunctionStore store, KeyedLock locks, DeploymentOrchestrator orchestrator, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var version = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        if (version is null || await store.GetDeploymentAsync(versionId, cancellationToken) is null)
        {
            return Problems.NotFound($"Function version '{versionId}': Deployment not found");
        }

        await orchestrator.UndeployAsync(functionId, versionId, graceful ?? false);
        var undeployed = await store.GetVersionAsync(functionId, versionId, cancellationToken) ?? version;
        return TypedResults.Ok(new FunctionResponse(FunctionsApi.ToDto(undeployed with { Status = FunctionStatus.Inactive }, orchestrator)));
    }

    private static string? ValidateSpecifications(List<GpuSpecificationDto>? specifications)
    {
        if (specifications is not { Count: > 0 })
        {
            return FunctionValidation.Field(RequestObject, "deploymentSpecifications", null, "must not be empty");
        }

        foreach (var s in specifications)
        {
            if (string.IsNullOrWhiteSpace(s.Gpu))
            {
                return FunctionValidation.Field(RequestObject, "deploymentSpecifications.gpu", s.Gpu, "must not be blank");
            }

            if (string.IsNullOrWhiteSpace(s.InstanceType))
            {
                return FunctionValidation.Field(RequestObject, "deploymentSpecifications.instanceType", s.InstanceType, "must not be blank");
            }

            if (s.MaxInstances is null or < 1)
            {
                return FunctionValidation.Field(RequestObject, "deploymentSpecifications.maxInstances", s.MaxInstances, "must be greater than or equal to 1");
            }

            if (s.MinInstances is null or < 0)
            {
                return FunctionValidation.Field(RequestObject, "deploymentSpecifications.minInstances", s.MinInstances, "must be greater than or equal to 0");
            }

            if (s.MinInstances > s.MaxInstances)
            {
                return "Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'";
            }

            if (s.MaxRequestConcurrency is < 1 or > GpuSpecification.MaxRequestConcurrencyLimit)
            {
                return FunctionValidation.Field(RequestObject, "deploymentSpecifications.maxRequestConcurrency", s.MaxRequestConcurrency, "must be between 1 and 16384");
            }
        }

        return null;
    }

    private static GpuSpecification ToDomain(GpuSpecificationDto s, Guid id) => new()
    {
        GpuSpecificationId = id,
        Gpu = s.Gpu!,
        InstanceType = s.InstanceType!,
        Backend = s.Backend,
        MinInstances = s.MinInstances!.Value,
        MaxInstances = s.MaxInstances!.Value,
        MaxRequestConcurrency = s.MaxRequestConcurrency ?? GpuSpecification.DefaultMaxRequestConcurrency,
        AvailabilityZones = s.AvailabilityZones,
        Configuration = s.Configuration,
        Clusters = s.Clusters,
        Regions = s.Regions,
        Attributes = s.Attributes,
        AutoscalingConfiguration = s.AutoscalingConfiguration,
    };

    private static Uri BaseAddress(HttpRequest http) => new($"{http.Scheme}://{http.Host}");
}
