using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Function management (docs/nvcf-contract.md#function-management): functions, versions, listing, update and delete.
/// Each handler maps HTTP to a <see cref="FunctionService"/> call, where the rules are, and its outcome back to HTTP.
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

    /// <summary>What the function handlers take: the service with the rules, the store for reads, and the instances.</summary>
    public sealed record Services(
        FunctionService Functions, IFunctionStore Store, DeploymentOrchestrator Orchestrator, IOptions<EmulatorOptions> Options, CancellationToken Aborted)
    {
        public Results<Ok<FunctionResponse>, ProblemHttpResult> Answer(Outcome<FunctionVersion> outcome, bool withInstances = true) =>
            outcome.Value is { } version
                ? TypedResults.Ok(new FunctionResponse(withInstances ? ToDto(version, Orchestrator) : FunctionDto.From(version)))
                : Problems.From(outcome.Rejection!);
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> CreateFunction(CreateFunctionRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Functions.CreateFunctionAsync(request, s.Aborted), withInstances: false);

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> CreateVersion(
        Guid functionId, CreateFunctionRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Functions.CreateVersionAsync(functionId, request, s.Aborted), withInstances: false);

    public static async Task<Results<Ok<FunctionListResponse>, ProblemHttpResult>> ListFunctions(HttpRequest http, [AsParameters] Services s)
    {
        if (!TryIncludesPrivate(http, out var includesPrivate, out var problem))
        {
            return problem;
        }

        var versions = includesPrivate ? await s.Store.ListVersionsAsync(null, s.Aborted) : [];
        return TypedResults.Ok(new FunctionListResponse([.. versions.Select(v => ToDto(v, s.Orchestrator))]));
    }

    public static async Task<Results<Ok<FunctionIdsResponse>, ProblemHttpResult>> ListFunctionIds(HttpRequest http, [AsParameters] Services s)
    {
        if (!TryIncludesPrivate(http, out var includesPrivate, out var problem))
        {
            return problem;
        }

        var versions = includesPrivate ? await s.Store.ListVersionsAsync(null, s.Aborted) : [];
        return TypedResults.Ok(new FunctionIdsResponse([.. versions.Select(v => v.Id).Distinct()]));
    }

    public static async Task<Results<Ok<FunctionListResponse>, ProblemHttpResult>> ListVersions(Guid functionId, [AsParameters] Services s)
    {
        var versions = await s.Store.ListVersionsAsync(functionId, s.Aborted);
        return versions.Count == 0
            ? Problems.From(Rejection.FunctionNotFound(functionId, s.Options.Value.NcaId))
            : TypedResults.Ok(new FunctionListResponse([.. versions.Select(v => ToDto(v, s.Orchestrator))]));
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> GetVersion(
        Guid functionId, Guid versionId, bool? includeSecrets, [AsParameters] Services s)
    {
        var version = await s.Store.GetVersionAsync(functionId, versionId, s.Aborted);
        return version is null
            ? VersionNotFound(functionId, versionId, s.Options.Value)
            : TypedResults.Ok(new FunctionResponse(ToDto(version, s.Orchestrator, includeSecrets ?? true)));
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> UpdateVersion(
        Guid functionId, Guid versionId, UpdateFunctionRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Functions.UpdateVersionAsync(functionId, versionId, request, s.Aborted));

    /// <summary>
    /// Deletes a version; a deployed one is undeployed at once, its containers removed
    /// (docs/nvcf-contract.md#function-endpoints).
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteVersion(Guid functionId, Guid versionId, [AsParameters] Services s) =>
        await s.Functions.DeleteVersionAsync(functionId, versionId, s.Aborted) is { Rejection: { } rejection }
            ? Problems.From(rejection)
            : TypedResults.NoContent();

    internal static ProblemHttpResult VersionNotFound(Guid functionId, Guid versionId, EmulatorOptions options) =>
        Problems.From(Rejection.VersionNotFound(functionId, versionId, options.NcaId));

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
