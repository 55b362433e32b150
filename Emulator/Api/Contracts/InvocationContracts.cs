using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nvcf.Emulator.Api.Contracts;

/// <summary>Body of the envelope API (docs/nvcf-contract.md#envelope-invocation): <c>{"requestHeader": {...}, "requestBody": any JSON}</c>.</summary>
public sealed record EnvelopeRequest(EnvelopeRequestHeader? RequestHeader, JsonNode? RequestBody);

public sealed record EnvelopeRequestHeader(List<Guid>? InputAssetReferences, int? PollDurationSeconds, List<JsonObject>? MeteringData);

/// <summary>
/// <c>InvokeFunctionResponse</c>, the envelope API's answer (docs/nvcf-contract.md#envelope-invocation); nulls are
/// omitted.
/// </summary>
/// <param name="ReqId">The <c>NVCF-REQID</c>.</param>
/// <param name="Status"><c>fulfilled</c>, <c>in-progress</c> or <c>errored</c>.</param>
/// <param name="ResponseReference">The download URL of a large result (the inner answer was a 302).</param>
/// <param name="PercentComplete">100 when done; the reported percent on a progress 202.</param>
/// <param name="ErrorCode">The HTTP status of an error.</param>
/// <param name="Response">The function's body as JSON (a string when it is not JSON), a progress report's partial response, or the problem.</param>
public sealed record InvokeFunctionResponse(
    Guid ReqId, string Status, string? ResponseReference = null, int? PercentComplete = null, int? ErrorCode = null, JsonElement? Response = null);
