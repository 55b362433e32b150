namespace Nvcf.Emulator.Api.Contracts;

public sealed record ClusterGroupsResponse(IReadOnlyList<ClusterGroupDto> ClusterGroups);

public sealed record ClusterGroupDto(
    Guid Id, string Name, string NcaId, IReadOnlyList<string> AuthorizedNcaIds, IReadOnlyList<ClusterGroupGpu> Gpus, IReadOnlyList<ClusterDto> Clusters);

public sealed record ClusterGroupGpu(string Name, IReadOnlyList<InstanceTypeDto> InstanceTypes);

public sealed record InstanceTypeDto(string Name, string Description, bool Default);

public sealed record ClusterDto(string Id, string Name, string K8sVersion);
