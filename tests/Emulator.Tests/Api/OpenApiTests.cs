using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Nvcf.Emulator.Tests.Api;

/// <summary>The API's OpenAPI document: every NVCF route, each with a summary, served without a bearer token.</summary>
public class OpenApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    [Fact]
    public async Task OpenApiDocumentListsEveryNvcfRouteWithASummaryWithoutABearerToken()
    {
        using var anonymous = fixture.Factory.CreateClient();
        using var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["paths"]!.AsObject();
        var documented = paths.ToDictionary(p => Normalize(p.Key), p => p.Value!.AsObject(), StringComparer.Ordinal);

        var routes = fixture.Factory.Services.GetServices<EndpointDataSource>()
            .SelectMany(s => s.Endpoints)
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v2/nvcf", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Path: Normalize(e.RoutePattern.RawText!), Method: m)))
            .ToList();

        Assert.True(routes.Count >= 30, $"only {routes.Count} NVCF routes found");
        foreach (var (path, method) in routes)
        {
            Assert.True(documented.TryGetValue(path, out var operations), $"{method} {path} is not in the OpenAPI document");
            var operation = operations[method.ToLowerInvariant()];
            Assert.True(operation is not null, $"{method} {path} has no operation in the OpenAPI document");
            Assert.False(string.IsNullOrWhiteSpace((string?)operation["summary"]), $"{method} {path} has no summary");
            Assert.NotEmpty(operation["tags"]!.AsArray());
        }
    }

    /// <summary>"/v2/nvcf/assets/" and "/v2/nvcf/assets" are one path; a route constraint is not part of it.</summary>
    private static string Normalize(string path)
    {
        var trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        return System.Text.RegularExpressions.Regex.Replace(trimmed, @"\{([^}:]+):[^}]*\}", "{$1}");
    }
}
