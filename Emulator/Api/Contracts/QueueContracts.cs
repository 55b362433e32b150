using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Api.Contracts;

/// <summary>Queue depths of a function's deployed versions (docs/nvcf-contract.md#queues).</summary>
public sealed record QueuesResponse(Guid FunctionId, IReadOnlyList<VersionQueue> Queues);

public sealed record VersionQueue(Guid FunctionVersionId, string FunctionName, FunctionStatus FunctionStatus, int QueueDepth);

/// <summary>Where a request waits (docs/nvcf-contract.md#queues): 0 once an instance has taken it.</summary>
public sealed record QueuePosition(Guid FunctionId, Guid FunctionVersionId, int PositionInQueue);
