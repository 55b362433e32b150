using System.Globalization;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Cluster groups (§7): one group, this host, with the GPUs its driver reports and an instance type per GPU
/// count (<c>local.GPU.H100_1x</c>…). Deployments accept any GPU name: on a host without the asked GPU they run
/// on what there is.
/// </summary>
public static class ClusterGroupsApi
{
    private static readonly Guid LocalGroupId = new("00000000-0000-4000-8000-00000000c1a5");

    public static IEndpointRouteBuilder MapClusterGroupsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v2/nvcf/clusterGroups", (IOptions<EmulatorOptions> options) => TypedResults.Ok(Describe(HostGpus.Detect(), options.Value.NcaId)))
            .WithTags("Cluster groups");
        return app;
    }

    public static ClusterGroupsResponse Describe(IReadOnlyList<HostGpu> gpus, string ncaId)
    {
        var gpuTypes = gpus
            .GroupBy(g => g.Name)
            .Select(group => new ClusterGroupGpu(
                group.Key,
                [.. Enumerable.Range(1, group.Count()).Select(count => new InstanceTypeDto(
                    string.Create(CultureInfo.InvariantCulture, $"local.GPU.{group.Key}_{count}x"),
                    string.Create(CultureInfo.InvariantCulture, $"{count} x {group.First().Model} on this host"),
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
