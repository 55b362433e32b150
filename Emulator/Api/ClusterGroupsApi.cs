using System.Globalization;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Runtime;
using Nvcf.Emulator.Runtime.Gpu;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Cluster groups (docs/nvcf-contract.md#cluster-groups-and-gpus): one group, this host, with the GPUs passed to
/// containers and an instance type per GPU count (<c>local.GPU.H100_1x</c>…), each describing the passthrough mode.
/// Deployments accept any GPU name: on a host without the asked GPU they run on what there is (see
/// <see cref="GpuPassthrough.Describe"/>).
/// </summary>
public static class ClusterGroupsApi
{
    private static readonly Guid LocalGroupId = new("00000000-0000-4000-8000-00000000c1a5");

    public static IEndpointRouteBuilder MapClusterGroupsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v2/nvcf/clusterGroups", async (IFunctionRuntime runtime, Caller caller, CancellationToken cancellationToken) =>
                TypedResults.Ok(Describe(await runtime.GetGpuPassthroughAsync(cancellationToken), caller.NcaId)))
            .RequireScope(Scopes.ListClusterGroups).WithTags("Cluster groups").WithName("ListClusterGroups").WithSummary("List cluster groups: this host, its GPUs and instance types");
        return app;
    }

    public static ClusterGroupsResponse Describe(GpuPassthrough gpu, string ncaId)
    {
        var gpuTypes = gpu.Gpus
            .GroupBy(g => g.Name)
            .Select(group => new ClusterGroupGpu(
                group.Key,
                [.. Enumerable.Range(1, group.Count()).Select(count => new InstanceTypeDto(
                    string.Create(CultureInfo.InvariantCulture, $"local.GPU.{group.Key}_{count}x"),
                    string.Create(CultureInfo.InvariantCulture, $"{count} x {group.First().Model} on this host, {gpu.ModeDescription}"),
                    count == 1))]))
            .ToList();
        return new ClusterGroupsResponse(
        [
            new ClusterGroupDto(
                LocalGroupId,
                "local",
                ncaId,
                [ncaId],
                gpuTypes,
                [new ClusterDto("local", Environment.MachineName, "docker")]),
        ]);
    }
}
