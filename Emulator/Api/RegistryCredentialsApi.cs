using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Orchestration;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Registry credential management (docs/nvcf-contract.md#registry-credentials), scope
/// <c>manage_registry_credentials</c>: credentials the emulator uses when it pulls the image of a function of their
/// account from their registry. A caller sees only its own account's; answers show everything but the secret's value.
/// </summary>
public static class RegistryCredentialsApi
{
    public static IEndpointRouteBuilder MapRegistryCredentialsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf").WithTags("Registry Credentials").RequireScope(Scopes.ManageRegistryCredentials);

        api.MapPost("/registry-credentials", AddRegistryCredential).WithName("AddRegistryCredential")
            .WithSummary("Add a registry credential that image pulls from its registry use");
        api.MapGet("/registry-credentials", ListRegistryCredentials).WithName("ListRegistryCredentials")
            .WithSummary("List registry credentials, filtered by artifactType and provisionedBy");
        api.MapGet("/registry-credentials/{registryCredentialId}", GetRegistryCredential).WithName("GetRegistryCredential")
            .WithSummary("Get a registry credential (never its secret's value)");
        api.MapPatch("/registry-credentials/{registryCredentialId}", UpdateRegistryCredential).WithName("UpdateRegistryCredential")
            .WithSummary("Replace a registry credential's secret and/or add artifact types");
        api.MapDelete("/registry-credentials/{registryCredentialId}", DeleteRegistryCredential).WithName("DeleteRegistryCredential")
            .WithSummary("Delete a registry credential that no function's image needs");
        api.MapGet("/recognized-registries", GetRecognizedRegistries).WithName("GetRecognizedRegistries")
            .WithSummary("List the registries a credential can be added for");
        return app;
    }

    /// <summary>What the registry credential handlers take.</summary>
    public sealed record Services(RegistryCredentialService Credentials, Caller Caller, CancellationToken Aborted)
    {
        public Results<Ok<RegistryCredentialDetailsResponse>, ProblemHttpResult> Answer(Outcome<RegistryCredential> outcome) =>
            Problems.OkOr(outcome, credential => new RegistryCredentialDetailsResponse(RegistryCredentialDetailsDto.From(credential)));
    }

    public static async Task<Results<Ok<RegistryCredentialDetailsResponse>, ProblemHttpResult>> AddRegistryCredential(
        AddRegistryCredentialRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Credentials.AddAsync(s.Caller.NcaId, request, s.Aborted));

    /// <summary>
    /// <c>artifactType</c> and <c>provisionedBy</c> take comma-separated or repeated values; every credential here is
    /// the user's, so <c>provisionedBy=SYSTEM</c> alone lists none.
    /// </summary>
    public static async Task<Results<Ok<ListRegistryCredentialDetailsResponse>, ProblemHttpResult>> ListRegistryCredentials(
        HttpRequest http, [AsParameters] Services s)
    {
        if (!TryParseFilter(http, "artifactType", Enum.GetNames<ArtifactType>(), out var types, out var problem)
            || !TryParseFilter(http, "provisionedBy", ["SYSTEM", RegistryCredentialDetailsDto.User], out var provisionedBy, out problem))
        {
            return problem;
        }

        var credentials = provisionedBy is null || provisionedBy.Contains(RegistryCredentialDetailsDto.User)
            ? await s.Credentials.ListAsync(s.Caller.NcaId, types?.Select(Enum.Parse<ArtifactType>).ToHashSet(), s.Aborted)
            : [];
        return TypedResults.Ok(new ListRegistryCredentialDetailsResponse([.. credentials.Select(RegistryCredentialDetailsDto.From)]));
    }

    public static async Task<Results<Ok<RegistryCredentialDetailsResponse>, ProblemHttpResult>> GetRegistryCredential(
        Guid registryCredentialId, [AsParameters] Services s) =>
        s.Answer(await s.Credentials.GetAsync(s.Caller.NcaId, registryCredentialId, s.Aborted));

    public static async Task<Results<Ok<RegistryCredentialDetailsResponse>, ProblemHttpResult>> UpdateRegistryCredential(
        Guid registryCredentialId, UpdateRegistryCredentialRequest request, [AsParameters] Services s) =>
        s.Answer(await s.Credentials.UpdateAsync(s.Caller.NcaId, registryCredentialId, request, s.Aborted));

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteRegistryCredential(Guid registryCredentialId, [AsParameters] Services s) =>
        await s.Credentials.DeleteAsync(s.Caller.NcaId, registryCredentialId, s.Aborted) is { } rejection ? Problems.From(rejection) : TypedResults.NoContent();

    public static Ok<RecognizedRegistriesResponse> GetRecognizedRegistries() =>
        TypedResults.Ok(new RecognizedRegistriesResponse(RecognizedRegistries.ByArtifactType.ToDictionary(
            e => e.Key.ToString().ToUpperInvariant(),
            IReadOnlyList<RecognizedRegistryDto> (e) => [.. e.Value.Select(r => new RecognizedRegistryDto(r.Name, r.Hostname))])));

    /// <summary>Upper-case names from a repeated or comma-separated query parameter; null when it is absent.</summary>
    private static bool TryParseFilter(
        HttpRequest http, string name, string[] allowed, out HashSet<string>? values, out ProblemHttpResult problem)
    {
        values = null;
        problem = null!;
        if (http.Query[name] is not { Count: > 0 } given)
        {
            return true;
        }

        values = [.. given.SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Select(v => v.ToUpperInvariant())];
        var names = allowed.Select(a => a.ToUpperInvariant()).ToArray();
        if (values.FirstOrDefault(v => !names.Contains(v)) is { } bad)
        {
            problem = Problems.BadRequest($"Invalid request: query parameter '{name}' has value '{bad}'; allowed values are {string.Join(", ", names)}");
            return false;
        }

        values = [.. values.Select(v => allowed.First(a => a.Equals(v, StringComparison.OrdinalIgnoreCase)))];
        return true;
    }
}
