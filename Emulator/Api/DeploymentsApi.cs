using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Deployments (docs/nvcf-contract.md#deployments): deploy a version onto instances, inspect, scale, undeploy. Each
/// handler maps HTTP to a <see cref="DeploymentService"/> call, where the rules are, and its outcome back to HTTP.
/// </summary>
public static class DeploymentsApi
{
    public static IEndpointRouteBuilder MapDeploymentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/deployments").WithTags("Deployments").RequireScope(Scopes.DeployFunction);

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

    /// <summary>What the deployment handlers take: the service with the rules, and what their answers need.</summary>
    public sealed record Services(
        DeploymentService Deployments, DeploymentOrchestrator Orchestrator, IFunctionRuntime Runtime, Caller Caller, HttpRequest Http, CancellationToken Aborted)
    {
        public Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> AnswerAsync(Outcome<DeployedVersion> outcome) =>
            Problems.OkOrAsync(outcome, async d => new DeploymentResponse(
                DeploymentDto.From(d.Version, d.Deployment, new Uri($"{Http.Scheme}://{Http.Host}"), await Runtime.GetGpuPassthroughAsync(Aborted))));
    }

    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> CreateDeployment(
        Guid functionId, Guid versionId, DeploymentRequest request, [AsParameters] Services s) =>
        await s.AnswerAsync(await s.Deployments.DeployAsync(s.Caller.NcaId, functionId, versionId, request.DeploymentSpecifications, s.Aborted));

    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> GetDeployment(Guid functionId, Guid versionId, [AsParameters] Services s) =>
        await s.AnswerAsync(await s.Deployments.GetAsync(s.Caller.NcaId, functionId, versionId, s.Aborted));

    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> GetDeploymentById(Guid deploymentId, [AsParameters] Services s) =>
        await s.AnswerAsync(await s.Deployments.GetByIdAsync(s.Caller.NcaId, deploymentId, s.Aborted));

    /// <summary>Deprecated full update: instance counts and concurrency may change, GPU type and backend may not.</summary>
    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> UpdateDeployment(
        Guid functionId, Guid versionId, DeploymentRequest request, [AsParameters] Services s) =>
        await s.AnswerAsync(await s.Deployments.ReplaceAsync(s.Caller.NcaId, functionId, versionId, request.DeploymentSpecifications, s.Aborted));

    public static async Task<Results<Ok<GpuSpecificationResponse>, ProblemHttpResult>> UpdateGpuSpecification(
        Guid deploymentId, Guid gpuSpecificationId, UpdateGpuSpecificationRequest request, [AsParameters] Services s)
    {
        var outcome = await s.Deployments.ScaleAsync(s.Caller.NcaId, deploymentId, gpuSpecificationId, request, s.Aborted);
        return await Problems.OkOrAsync(
            outcome, async changed => new GpuSpecificationResponse(GpuSpecificationDto.From(changed, await s.Runtime.GetGpuPassthroughAsync(s.Aborted))));
    }

    /// <summary>
    /// Undeploys (docs/nvcf-contract.md#undeploy): INACTIVE at once; <c>graceful=true</c> lets queued and running
    /// requests finish.
    /// </summary>
    public static async Task<Results<Ok<FunctionResponse>, ProblemHttpResult>> DeleteDeployment(
        Guid functionId, Guid versionId, bool? graceful, [AsParameters] Services s)
    {
        var outcome = await s.Deployments.UndeployAsync(s.Caller.NcaId, functionId, versionId, graceful ?? false, s.Aborted);
        return Problems.OkOr(outcome, undeployed => new FunctionResponse(FunctionsApi.ToDto(undeployed, s.Orchestrator)));
    }
}
