using Microsoft.AspNetCore.Http.HttpResults;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Orchestration;

namespace Nvcf.Emulator.Api;

/// <summary>
/// Function sharing (docs/nvcf-contract.md#function-sharing): the owning account authorizes other accounts to list,
/// read and invoke all versions of a function, or one version. Each handler maps HTTP to a <see cref="SharingService"/>
/// call, where the rules are, and its outcome back to HTTP.
/// </summary>
public static class AuthorizationsApi
{
    public static IEndpointRouteBuilder MapAuthorizationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2/nvcf/authorizations/functions/{functionId}").WithTags("Function sharing").RequireScope(Scopes.AuthorizeClients);

        api.MapPost(string.Empty, Share).WithName("AuthorizeAccounts").WithSummary("Share every version of a function with these accounts (replaces the function's)");
        api.MapGet(string.Empty, List).WithName("ListAuthorizedAccounts").WithSummary("The accounts each version of a function is shared with");
        api.MapPatch("/add", Add).WithName("AddAuthorizedAccount").WithSummary("Share every version of a function with one more account");
        api.MapPatch("/remove", Remove).WithName("RemoveAuthorizedAccount").WithSummary("Stop sharing a function with one account");
        api.MapDelete(string.Empty, Unshare).WithName("DeleteAuthorizedAccounts").WithSummary("Stop sharing a function (its function-level accounts)");

        api.MapPost("/versions/{versionId}", ShareVersion).WithName("AuthorizeAccountsForVersion")
            .WithSummary("Share one version with these accounts (replaces the version's)");
        api.MapGet("/versions/{versionId}", Get).WithName("GetAuthorizedAccountsForVersion").WithSummary("The accounts one version is shared with");
        api.MapPatch("/versions/{versionId}/add", AddToVersion).WithName("AddAuthorizedAccountForVersion").WithSummary("Share one version with one more account");
        api.MapPatch("/versions/{versionId}/remove", RemoveFromVersion).WithName("RemoveAuthorizedAccountForVersion")
            .WithSummary("Stop sharing one version with one account");
        api.MapDelete("/versions/{versionId}", UnshareVersion).WithName("DeleteAuthorizedAccountsForVersion")
            .WithSummary("Stop sharing one version (its version-level accounts)");
        return app;
    }

    /// <summary>What the sharing handlers take.</summary>
    public sealed record Services(SharingService Sharing, Caller Caller, CancellationToken Aborted)
    {
        public static Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult> Answer(Outcome<SharedParties> outcome) =>
            Problems.OkOr(outcome, shared => new AuthorizedPartiesResponse(AuthorizedPartiesByFunctionDto.From(shared)));
    }

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> Share(
        Guid functionId, AuthorizedPartiesRequest request, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.ShareAsync(s.Caller.NcaId, functionId, null, request, s.Aborted));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> ShareVersion(
        Guid functionId, Guid versionId, AuthorizedPartiesRequest request, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.ShareAsync(s.Caller.NcaId, functionId, versionId, request, s.Aborted));

    /// <summary>Every version with its accounts, the function's and the version's together.</summary>
    public static async Task<Results<Ok<ListAuthorizedPartiesResponse>, ProblemHttpResult>> List(Guid functionId, [AsParameters] Services s) =>
        Problems.OkOr(
            await s.Sharing.ListAsync(s.Caller.NcaId, functionId, s.Aborted),
            versions => new ListAuthorizedPartiesResponse([.. versions.Select(AuthorizedPartiesByFunctionDto.From)]));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> Get(Guid functionId, Guid versionId, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.GetAsync(s.Caller.NcaId, functionId, versionId, s.Aborted));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> Add(
        Guid functionId, PatchAuthorizedPartyRequest request, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.AddAsync(s.Caller.NcaId, functionId, null, request, s.Aborted));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> AddToVersion(
        Guid functionId, Guid versionId, PatchAuthorizedPartyRequest request, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.AddAsync(s.Caller.NcaId, functionId, versionId, request, s.Aborted));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> Remove(
        Guid functionId, PatchAuthorizedPartyRequest request, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.RemoveAsync(s.Caller.NcaId, functionId, null, request, s.Aborted));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> RemoveFromVersion(
        Guid functionId, Guid versionId, PatchAuthorizedPartyRequest request, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.RemoveAsync(s.Caller.NcaId, functionId, versionId, request, s.Aborted));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> Unshare(Guid functionId, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.UnshareAsync(s.Caller.NcaId, functionId, null, s.Aborted));

    public static async Task<Results<Ok<AuthorizedPartiesResponse>, ProblemHttpResult>> UnshareVersion(Guid functionId, Guid versionId, [AsParameters] Services s) =>
        Services.Answer(await s.Sharing.UnshareAsync(s.Caller.NcaId, functionId, versionId, s.Aborted));
}
