using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Function management (docs/nvcf-contract.md#function-management): functions, versions, listing, update and delete.
/// </summary>
public static class FunctionsApi
{
    public static IEndpointRouteBuilder MapFunctionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf").WithTags("Functions");

        api.MapPost("/functions", CreateFunction).WithName("CreateFunction").WithSummary("Create a function and its first version");
        api.MapPost("/functions/{functionId}/versions", CreateVersion).WithName("CreateFunctionVersion").WithSummary("Add a version to a function");
        api.MapGet("/functions", ListFunctions).WithName("ListFunctions").WithSummary("List functions (every version), filtered by visibility");
        api.MapGet("/functions/ids", ListFunctionIds).WithName("ListFunctionIds").WithSummary("List function IDs, filtered by visibility");
        api.MapGet("/functions/{functionId}/versions", ListVersions).WithName("ListFunctionVersions").WithSummary("List a function's versions");
        api.MapGet("/functions/{functionId}/versions/{versionId}", GetVersion).WithName("GetFunctionVersion").WithSummary("Get a function version with its instances");
        api.MapPut("/functions/{functionId}/versions/{versionId}", UpdateVersion).WithName("UpdateFunctionVersion")
            .WithSummary("Update a version's tags, rate limit, models and LLM settings");
        api.MapPut("/metadata/functions/{functionId}/versions/{versionId}", UpdateVersion).WithName("UpdateFunctionVersionMetadata")
            .WithSummary("Update a version's metadata (deprecated alias of PUT /v2/nvcf/functions/{functionId}/versions/{versionId})");
        api.MapDelete("/functions/{functionId}/versions/{versionId}", DeleteVersion).WithName("DeleteFunctionVersion")
            .WithSummary("Delete a version; a deployed one is undeployed at once");
        return app;
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> CreateFunction(
        CreateFunctionRequest request, IFunctionStore store, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        if (FunctionValidation.Validate(request) is { } error)
        {
            return Problems.BadRequest(error);
        }

        if (await Quotas.CheckNewFunctionAsync(store, options.Value, cancellationToken) is { } quota)
        {
            return Problems.BadRequest(quota);
        }

        var version = ToVersion(request, Guid.NewGuid(), options.Value.NcaId);
        await store.AddVersionAsync(version, cancellationToken);
        return TypedResults.Ok(new FunctionResponse(FunctionDto.From(version)));
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> CreateVersion(
        Guid functionId, CreateFunctionRequest request, IFunctionStore store, KeyedLock locks, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var existing = await store.ListVersionsAsync(functionId, cancellationToken);
        if (existing.Count == 0)
        {
            return Problems.NotFound($"Function id '{functionId}': Not found in account '{options.Value.NcaId}'");
        }

        if (FunctionValidation.Validate(request) is { } error)
        {
            return Problems.BadRequest(error);
        }

        var version = ToVersion(request, functionId, options.Value.NcaId);
        await store.AddVersionAsync(version, cancellationToken);
        return TypedResults.Ok(new FunctionResponse(FunctionDto.From(version)));
    }

    public static async Task<Results<Ok<FunctionListResponse>, ProblemHttpResult>> ListFunctions(
        HttpRequest http, IFunctionStore store, DeploymentOrchestrator orchestrator, CancellationToken cancellationToken)
    {
        if (!TryIncludesPrivate(http, out var includesPrivate, out var problem))
        {
            return problem;
        }

        var versions = includesPrivate ? await store.ListVersionsAsync(null, cancellationToken) : [];
        return TypedResults.Ok(new FunctionListResponse([.. versions.Select(v => ToDto(v, orchestrator))]));
    }

    public static async Task<Results<Ok<FunctionIdsResponse>, ProblemHttpResult>> ListFunctionIds(
        HttpRequest http, IFunctionStore store, CancellationToken cancellationToken)
    {
        if (!TryIncludesPrivate(http, out var includesPrivate, out var problem))
        {
            return problem;
        }

        var versions = includesPrivate ? await store.ListVersionsAsync(null, cancellationToken) : [];
        return TypedResults.Ok(new FunctionIdsResponse([.. versions.Select(v => v.Id).Distinct()]));
    }

    public static async Task<Results<Ok<FunctionListResponse>, ProblemHttpResult>> ListVersions(
        Guid functionId, IFunctionStore store, DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(functionId, cancellationToken);
        return versions.Count == 0
            ? Problems.NotFound($"Function id '{functionId}': Not found in account '{options.Value.NcaId}'")
            : TypedResults.Ok(new FunctionListResponse([.. versions.Select(v => ToDto(v, orchestrator))]));
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> GetVersion(
        Guid functionId, Guid versionId, bool? includeSecrets, IFunctionStore store, DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        var version = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        return version is null
            ? VersionNotFound(functionId, versionId, options.Value)
            : TypedResults.Ok(new FunctionResponse(ToDto(version, orchestrator, includeSecrets ?? true)));
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> UpdateVersion(
        Guid functionId, Guid versionId, UpdateFunctionRequest request, IFunctionStore store, KeyedLock locks,
        DeploymentOrchestrator orchestrator, IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        var (updated, problem) = await UpdateAsync(functionId, versionId, request, store, locks, orchestrator, options.Value, cancellationToken);
        return updated is null ? problem! : TypedResults.Ok(new FunctionResponse(ToDto(updated, orchestrator)));
    }

    /// <summary>
    /// Validates and applies an update (docs/nvcf-contract.md#update-request): all of it or, with a problem, nothing.
    /// A new rate limit applies to invocations at once.
    /// </summary>
    internal static async Task<(FunctionVersion? Updated, ProblemHttpResult? Problem)> UpdateAsync(
        Guid functionId, Guid versionId, UpdateFunctionRequest request, IFunctionStore store, KeyedLock locks,
        DeploymentOrchestrator orchestrator, EmulatorOptions options, CancellationToken cancellationToken)
    {
        if (FunctionValidation.Validate(request) is { } error)
        {
            return (null, Problems.BadRequest(error));
        }

        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        var current = await store.GetVersionAsync(functionId, versionId, cancellationToken);
        if (current is null)
        {
            return (null, VersionNotFound(functionId, versionId, options));
        }

        if (request.ModelUpdates?.FirstOrDefault(m => current.Models?.Any(x => x.Name == m.ModelName) != true) is { } unknown)
        {
            return (null, Problems.BadRequest($"Invalid request: function version '{versionId}' has no model named '{unknown.ModelName}'"));
        }

        var updated = await store.UpdateVersionAsync(functionId, versionId, v => v with
        {
            Tags = request.Tags?.Distinct().ToList() ?? v.Tags,
            RateLimit = request.RateLimit?.ToDomain() ?? v.RateLimit,
            LlmInvocationConfig = request.LlmInvocationConfig ?? v.LlmInvocationConfig,
            Models = request.ModelUpdates is null ? v.Models : [.. v.Models!.Select(m =>
                request.ModelUpdates.FirstOrDefault(u => u.ModelName == m.Name) is { } u ? m with { LlmConfig = u.LlmConfig ?? m.LlmConfig } : m)],
        }, cancellationToken);

        if (updated is null)
        {
            return (null, VersionNotFound(functionId, versionId, options));
        }

        if (request.RateLimit is not null)
        {
            orchestrator.UpdateRateLimit(versionId, updated.RateLimit);
        }

        return (updated, null);
    }

    /// <summary>
    /// Deletes a version; a deployed one is undeployed at once, its containers removed
    /// (docs/nvcf-contract.md#function-endpoints).
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteVersion(
        Guid functionId, Guid versionId, IFunctionStore store, KeyedLock locks, DeploymentOrchestrator orchestrator,
        IOptions<EmulatorOptions> options, CancellationToken cancellationToken)
    {
        using var _ = await locks.AcquireAsync(functionId, cancellationToken);
        if (await store.GetVersionAsync(functionId, versionId, cancellationToken) is null)
        {
            return VersionNotFound(functionId, versionId, options.Value);
        }

        await orchestrator.UndeployAsync(functionId, versionId, graceful: false);
        await store.RemoveVersionAsync(functionId, versionId, cancellationToken);
        return TypedResults.NoContent();
    }

    internal static ProblemHttpResult VersionNotFound(Guid functionId, Guid versionId, EmulatorOptions options) =>
        Problems.NotFound($"Function id '{functionId}', version '{versionId}': Not found in account '{options.NcaId}'");

    internal static FunctionDto ToDto(FunctionVersion version, DeploymentOrchestrator orchestrator, bool includeSecrets = true) =>
        FunctionDto.From(version, [.. orchestrator.InstancesOf(version.VersionId).Select(i => new InstanceDto
        {
            InstanceId = i.InstanceId,
            FunctionId = version.Id,
            FunctionVersionId = version.VersionId,
            InstanceType = i.GpuSpecification.InstanceType,
            InstanceStatus = i.State.ToString().ToUpperInvariant(),
            NcaId = version.NcaId,
            Gpu = i.GpuSpecification.Gpu,
            Backend = i.GpuSpecification.Backend,
            Location = i.ContainerName ?? "local",
            Gpus = i.Gpus,
            InstanceCreatedAt = i.CreatedAt,
            InstanceUpdatedAt = i.UpdatedAt,
        })], includeSecrets);

    private static FunctionVersion ToVersion(CreateFunctionRequest r, Guid functionId, string ncaId) => new()
    {
        Id = functionId,
        VersionId = Guid.NewGuid(),
        NcaId = ncaId,
        Name = r.Name!,
        Description = r.Description ?? r.Name!,
        InferenceUrl = r.InferenceUrl!,
        InferencePort = r.InferencePort,
        ContainerImage = r.ContainerImage,
        ContainerArgs = r.ContainerArgs,
        ContainerEnvironment = [.. (r.ContainerEnvironment ?? []).Select(e => new EnvironmentEntry(e.Key!, e.Value!))],
        Models = r.Models,
        HelmChart = r.HelmChart,
        HelmChartServiceName = r.HelmChartServiceName,
        Resources = r.Resources?.Select(a => new Artifact(a.Name!, a.Version!, a.Uri!)).ToList(),
        ApiBodyFormat = r.ApiBodyFormat ?? ApiBodyFormat.Custom,
        FunctionType = r.FunctionType ?? FunctionType.Default,
        Health = r.Health is { } h
            ? new HealthCheck(h.Protocol!.Value, h.Uri!, h.Port!.Value, h.Timeout!.Value, h.ExpectedStatusCode!.Value)
            : HealthCheck.Default(r.InferenceUrl!, r.InferencePort, r.HealthUri),
        Tags = r.Tags?.Distinct().ToList() ?? [],
        Secrets = [.. (r.Secrets ?? []).Select(s => s.ToDomain())],
        RateLimit = r.RateLimit?.ToDomain(),
        Telemetries = r.Telemetries,
        LlmInvocationConfig = r.LlmInvocationConfig,
        Status = FunctionStatus.Inactive,
        CreatedAt = DateTime.UtcNow,
    };

    /// <summary>
    /// <c>visibility</c> (repeated or comma-separated; authorized, private, public; default all). Every function
    /// here belongs to the caller's own account, so only <c>private</c> selects anything.
    /// </summary>
    private static bool TryIncludesPrivate(HttpRequest http, out bool includesPrivate, out ProblemHttpResult problem)
    {
        includesPrivate = true;
        problem = null!;
        var values = http.Query["visibility"]
            .SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        if (values.Count == 0)
        {
            return true;
        }

        if (values.FirstOrDefault(v => !v.Equals("authorized", StringComparison.OrdinalIgnoreCase)
            && !v.Equals("private", StringComparison.OrdinalIgnoreCase)
            && !v.Equals("public", StringComparison.OrdinalIgnoreCase)) is { } bad)
        {
            problem = Problems.BadRequest($"Invalid visibility '{bad}': expected authorized, private or public");
            return false;
        }

        includesPrivate = values.Any(v => v.Equals("private", StringComparison.OrdinalIgnoreCase));
        return true;
    }
}
