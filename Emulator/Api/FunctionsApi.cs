using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Orchestration;

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

        api.MapPost("/functions", CreateFunction).RequireScope(Scopes.RegisterFunction)
            .WithName("CreateFunction").WithSummary("Create a function and its first version");
        api.MapPost("/functions/{functionId}/versions", CreateVersion).RequireScope(Scopes.RegisterFunction)
            .WithName("CreateFunctionVersion").WithSummary("Add a version to a function");
        api.MapGet("/functions", ListFunctions).RequireScope(ListScopes)
            .WithName("ListFunctions").WithSummary("List functions (every version), filtered by visibility");
        api.MapGet("/functions/ids", ListFunctionIds).RequireScope(ListScopes)
            .WithName("ListFunctionIds").WithSummary("List function IDs, filtered by visibility");
        api.MapGet("/functions/{functionId}/versions", ListVersions).RequireScope(ListScopes)
            .WithName("ListFunctionVersions").WithSummary("List a function's versions");
        api.MapGet("/functions/{functionId}/versions/{versionId}", GetVersion).RequireScope(ListScopes)
            .WithName("GetFunctionVersion").WithSummary("Get a function version with its instances");
        api.MapPut("/functions/{functionId}/versions/{versionId}", UpdateVersion).RequireScope(Scopes.UpdateFunction).WithName("UpdateFunctionVersion")
            .WithSummary("Update a version's tags, rate limit, models and LLM settings");
        api.MapPut("/metadata/functions/{functionId}/versions/{versionId}", UpdateVersion).RequireScope(Scopes.UpdateFunction).WithName("UpdateFunctionVersionMetadata")
            .WithSummary("Update a version's metadata (deprecated alias of PUT /v2/nvcf/functions/{functionId}/versions/{versionId})");
        api.MapDelete("/functions/{functionId}/versions/{versionId}", DeleteVersion).RequireScope(Scopes.DeleteFunction).WithName("DeleteFunctionVersion")
            .WithSummary("Delete a version; a deployed one is undeployed at once");
        return app;
    }

    /// <summary>What the listing and reading endpoints need (either one).</summary>
    private static readonly string[] ListScopes = [Scopes.ListFunctions, Scopes.ListFunctionsDetails];

    private static readonly string[] DetailsScopes = [Scopes.ListFunctionsDetails];

    /// <summary>What the function handlers take: the service with the rules, the caller, and the instances.</summary>
    public sealed record Services(FunctionService Functions, DeploymentOrchestrator Orchestrator, Caller Caller, CancellationToken Aborted)
    {
        public Results<Ok<FunctionResponse>, ProblemHttpResult> Answer(Outcome<FunctionVersion> outcome, bool withInstances = true) =>
            Problems.OkOr(outcome, version => new FunctionResponse(withInstances ? Dto(version) : FunctionDto.From(version)));

        /// <summary>
        /// A version as the caller sees it: its own with its instances (given a key with <c>list_functions_details</c>),
        /// another account's shared one stripped (docs/nvcf-contract.md#function-sharing).
        /// </summary>
        public FunctionDto Dto(FunctionVersion version, bool includeSecrets = true) =>
            version.NcaId != Caller.NcaId ? FunctionDto.From(version).AsSeenByAnotherAccount()
            : Caller.HasAny(DetailsScopes) ? ToDto(version, Orchestrator, includeSecrets)
            : FunctionDto.From(version, includeSecrets: includeSecrets);
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> CreateFunction(CreateFunctionRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Functions.CreateFunctionAsync(s.Caller.NcaId, request, s.Aborted), withInstances: false);

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> CreateVersion(
        Guid functionId, CreateFunctionRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Functions.CreateVersionAsync(s.Caller.NcaId, functionId, request, s.Aborted), withInstances: false);

    public static async Task<Results<Ok<FunctionListResponse>, ProblemHttpResult>> ListFunctions(HttpRequest http, [AsParameters] Services s)
    {
        if (!TryParseVisibility(http, out var visibility, out var problem))
        {
            return problem;
        }

        var versions = await s.Functions.ListVisibleAsync(s.Caller.NcaId, visibility, null, s.Aborted);
        return TypedResults.Ok(new FunctionListResponse([.. versions.Select(v => s.Dto(v))]));
    }

    public static async Task<Results<Ok<FunctionIdsResponse>, ProblemHttpResult>> ListFunctionIds(HttpRequest http, [AsParameters] Services s)
    {
        if (!TryParseVisibility(http, out var visibility, out var problem))
        {
            return problem;
        }

        var versions = await s.Functions.ListVisibleAsync(s.Caller.NcaId, visibility, null, s.Aborted);
        return TypedResults.Ok(new FunctionIdsResponse([.. versions.Select(v => v.Id).Distinct()]));
    }

    public static async Task<Results<Ok<FunctionListResponse>, ProblemHttpResult>> ListVersions(Guid functionId, [AsParameters] Services s)
    {
        var versions = await s.Functions.ListVisibleAsync(s.Caller.NcaId, Visibility.All, functionId, s.Aborted);
        return versions.Count == 0
            ? Problems.From(Rejection.FunctionNotFound(functionId, s.Caller.NcaId))
            : TypedResults.Ok(new FunctionListResponse([.. versions.Select(v => s.Dto(v))]));
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> GetVersion(
        Guid functionId, Guid versionId, bool? includeSecrets, [AsParameters] Services s)
    {
        var version = await s.Functions.GetVisibleAsync(s.Caller.NcaId, functionId, versionId, s.Aborted);
        return version is null
            ? Problems.From(Rejection.VersionNotFound(functionId, versionId, s.Caller.NcaId))
            : TypedResults.Ok(new FunctionResponse(s.Dto(version, includeSecrets ?? true)));
    }

    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> UpdateVersion(
        Guid functionId, Guid versionId, UpdateFunctionRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Functions.UpdateVersionAsync(s.Caller.NcaId, functionId, versionId, request, s.Aborted));

    /// <summary>
    /// Deletes a version; a deployed one is undeployed at once, its containers removed
    /// (docs/nvcf-contract.md#function-endpoints).
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteVersion(Guid functionId, Guid versionId, [AsParameters] Services s) =>
        await s.Functions.DeleteVersionAsync(s.Caller.NcaId, functionId, versionId, s.Aborted) is { Rejection: { } rejection }
            ? Problems.From(rejection)
            : TypedResults.NoContent();

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
    /// <c>visibility</c> (repeated or comma-separated; authorized, private, public, any case; default all): the
    /// caller's own functions (private), others' shared with it (authorized); no function here is public.
    /// </summary>
    private static bool TryParseVisibility(HttpRequest http, out Visibility visibility, out ProblemHttpResult problem)
    {
        visibility = Visibility.All;
        problem = null!;
        var values = http.Query["visibility"]
            .SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        if (values.Count == 0)
        {
            return true;
        }

        visibility = Visibility.None;
        foreach (var value in values)
        {
            if (!Enum.TryParse<Visibility>(value, ignoreCase: true, out var one) || one is Visibility.None or Visibility.All || int.TryParse(value, out _))
            {
                problem = Problems.BadRequest($"Invalid visibility '{value}': expected authorized, private or public");
                return false;
            }

            visibility |= one;
        }

        return true;
    }
}
