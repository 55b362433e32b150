using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Orchestration;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Telemetries (docs/nvcf-contract.md#telemetries): the caller's account's endpoints for functions' logs, metrics and
/// traces, and their secrets; another account's answer 404 in the caller's account. A function version names them in <c>telemetries</c>; its containers then export OTLP through the
/// emulator's relay (docs/nvcf-contract.md#telemetry-in-the-container).
/// </summary>
public static class TelemetriesApi
{
    public static IEndpointRouteBuilder MapTelemetriesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf").WithTags("Telemetries").RequireScope(Scopes.ManageTelemetries);
        api.MapPost("/telemetries", CreateTelemetry).WithName("CreateTelemetry").WithSummary("Create a telemetry endpoint");
        api.MapGet("/telemetries", ListTelemetries).WithName("ListTelemetries").WithSummary("List the account's telemetry endpoints");
        api.MapGet("/telemetries/{telemetryId}", GetTelemetry).WithName("GetTelemetry").WithSummary("Get a telemetry endpoint");
        api.MapDelete("/telemetries/{telemetryId}", DeleteTelemetry).WithName("DeleteTelemetry")
            .WithSummary("Delete a telemetry endpoint that no function version uses");
        api.MapPut("/secrets/telemetries/{telemetryId}", UpdateTelemetrySecret).WithName("UpdateTelemetrySecret")
            .WithSummary("Replace a telemetry endpoint's secret").RequireScope(Scopes.UpdateSecrets);
        return app;
    }

    /// <summary>What the telemetry handlers take.</summary>
    public sealed record Services(TelemetryService Telemetries, Caller Caller, CancellationToken Aborted);

    public static async Task<Results<Ok<TelemetryResponse>, ProblemHttpResult>> CreateTelemetry(TelemetryRequest request, [AsParameters] Services s) =>
        Answer(await s.Telemetries.CreateAsync(s.Caller.NcaId, request, s.Aborted));

    public static async Task<Ok<ListTelemetryResponse>> ListTelemetries([AsParameters] Services s) =>
        TypedResults.Ok(new ListTelemetryResponse([.. (await s.Telemetries.ListAsync(s.Caller.NcaId, s.Aborted)).Select(TelemetryDto.From)]));

    public static async Task<Results<Ok<TelemetryResponse>, ProblemHttpResult>> GetTelemetry(Guid telemetryId, [AsParameters] Services s) =>
        Answer(await s.Telemetries.GetAsync(s.Caller.NcaId, telemetryId, s.Aborted));

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTelemetry(Guid telemetryId, [AsParameters] Services s) =>
        NoContentOr(await s.Telemetries.DeleteAsync(s.Caller.NcaId, telemetryId, s.Aborted));

    public static async Task<Results<NoContent, ProblemHttpResult>> UpdateTelemetrySecret(
        Guid telemetryId, UpdateTelemetrySecretRequest request, [AsParameters] Services s) =>
        NoContentOr(await s.Telemetries.UpdateSecretAsync(s.Caller.NcaId, telemetryId, request, s.Aborted));

    private static Results<Ok<TelemetryResponse>, ProblemHttpResult> Answer(Outcome<Telemetry> outcome) =>
        Problems.OkOr(outcome, telemetry => new TelemetryResponse(TelemetryDto.From(telemetry)));

    private static Results<NoContent, ProblemHttpResult> NoContentOr(Outcome<Telemetry> outcome) =>
        outcome.Rejection is { } rejection ? Problems.From(rejection) : TypedResults.NoContent();
}
