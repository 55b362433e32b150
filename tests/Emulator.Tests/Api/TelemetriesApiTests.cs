using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Api;

/// <summary><c>/v2/nvcf/telemetries</c> and a function's <c>telemetries</c>, as the cloud answers them.</summary>
public class TelemetriesApiTests(FakeEmulatorFixture fixture) : IClassFixture<FakeEmulatorFixture>
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task ATelemetryIsCreatedListedAndReadWithoutItsSecretThenDeleted()
    {
        var name = UniqueName();
        using var created = await Http.PostAsJsonAsync("/v2/nvcf/telemetries", Request(name, provider: "otel_collector", types: ["traces", "LOGS", "TRACES"]));
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.OK, body);
        var telemetry = JsonNode.Parse(body)!["telemetry"]!.AsObject();
        var id = (string)telemetry["telemetryId"]!;
        Assert.Equal(name, (string?)telemetry["name"]);
        Assert.Equal("https://collector.example.com:4318", (string?)telemetry["endpoint"]);
        Assert.Equal("HTTP", (string?)telemetry["protocol"]);
        Assert.Equal("OTEL_COLLECTOR", (string?)telemetry["provider"]);
        Assert.Equal(["TRACES", "LOGS"], telemetry["types"]!.AsArray().Select(t => (string)t!));
        Assert.NotNull(telemetry["createdAt"]);
        Assert.DoesNotContain("the-secret-value", body, StringComparison.Ordinal);
        Assert.False(telemetry.ContainsKey("secret"));

        var listed = await Http.GetStringAsync("/v2/nvcf/telemetries");
        Assert.Contains(JsonNode.Parse(listed)!["telemetries"]!.AsArray(), t => (string)t!["telemetryId"]! == id);
        Assert.DoesNotContain("the-secret-value", listed, StringComparison.Ordinal);

        var read = await Http.GetStringAsync($"/v2/nvcf/telemetries/{id}");
        Assert.Equal(name, (string?)JsonNode.Parse(read)!["telemetry"]!["name"]);
        Assert.DoesNotContain("the-secret-value", read, StringComparison.Ordinal);

        using var secret = await Http.PutAsJsonAsync($"/v2/nvcf/secrets/telemetries/{id}", new { secret = new { name, value = "a-new-value" } });
        Assert.Equal(HttpStatusCode.NoContent, secret.StatusCode);

        using var deleted = await Http.DeleteAsync($"/v2/nvcf/telemetries/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await Http.GetAsync($"/v2/nvcf/telemetries/{id}");
        var problem = await gone.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Account 'local-nca-id' Telemetry '{id}': Not found", (string?)problem["detail"]);
    }

    [Theory]
    [InlineData("PROMETHEUS")]
    [InlineData("GRAFANA_CLOUD")]
    [InlineData("SPLUNK")]
    [InlineData("DATADOG")]
    [InlineData("SERVICENOW")]
    [InlineData("KRATOS")]
    [InlineData("KRATOS_THANOS")]
    [InlineData("TIMESTREAM")]
    [InlineData("VICTORIAMETRICS")]
    [InlineData("AZURE_MONITOR")]
    [InlineData("OTEL_COLLECTOR")]
    public async Task EveryProviderOfTheCloudIsAccepted(string provider)
    {
        using var created = await Http.PostAsJsonAsync("/v2/nvcf/telemetries", Request(UniqueName(), provider, protocol: "GRPC"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var telemetry = (await created.Content.ReadFromJsonAsync<JsonObject>())!["telemetry"]!;
        Assert.Equal(provider, (string?)telemetry["provider"]);
        Assert.Equal("GRPC", (string?)telemetry["protocol"]);
    }

    [Theory]
    [InlineData("provider", "JAEGER", "field=provider, rejected=JAEGER")]
    [InlineData("protocol", "UDP", "field=protocol, rejected=UDP")]
    [InlineData("types", "PROFILES", "field=types, rejected=PROFILES")]
    [InlineData("endpoint", " ", "field=endpoint")]
    [InlineData("secret", null, "field=secret, rejected=null")]
    [InlineData("secretName", "bad name", "field=secret.name, rejected=bad name")]
    public async Task ABadFieldIsRefusedNamingItAndNothingIsCreated(string field, string? value, string expected)
    {
        var name = UniqueName();
        var request = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(Request(name)))!.AsObject();
        switch (field)
        {
            case "types":
                request["types"] = new JsonArray(value);
                break;
            case "secretName":
                request["secret"]!["name"] = value;
                break;
            default:
                request[field] = value;
                break;
        }

        using var response = await Http.PostAsJsonAsync("/v2/nvcf/telemetries", request);
        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("[object=telemetryRequest, " + expected, (string?)problem["detail"], StringComparison.Ordinal);
        Assert.DoesNotContain(name, await Http.GetStringAsync("/v2/nvcf/telemetries"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NamesAreUniqueInTheAccount()
    {
        var name = UniqueName();
        using var first = await Http.PostAsJsonAsync("/v2/nvcf/telemetries", Request(name));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var second = await Http.PostAsJsonAsync("/v2/nvcf/telemetries", Request(name));
        var problem = await second.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains($"with name '{name}' already exists in the account", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownTelemetryIdIsNotFound()
    {
        var id = Guid.NewGuid();
        using var get = await Http.GetAsync($"/v2/nvcf/telemetries/{id}");
        await get.ProblemAsync(HttpStatusCode.NotFound);
        using var delete = await Http.DeleteAsync($"/v2/nvcf/telemetries/{id}");
        await delete.ProblemAsync(HttpStatusCode.NotFound);
        using var secret = await Http.PutAsJsonAsync($"/v2/nvcf/secrets/telemetries/{id}", new { secret = new { name = "x", value = "y" } });
        await secret.ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AFunctionNamingAnUnknownTelemetryIsNotFoundAndNotCreated()
    {
        var id = Guid.NewGuid();
        using var response = await Http.PostAsJsonAsync("/v2/nvcf/functions", FunctionNaming("unknown-telemetry", new { tracesTelemetryId = id }));

        var problem = await response.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Account 'local-nca-id' Telemetry '{id}': Not found", (string?)problem["detail"]);
        Assert.DoesNotContain("unknown-telemetry", await Http.GetStringAsync("/v2/nvcf/functions"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFunctionMayUseATelemetryOnlyForTheSignalsItCarries()
    {
        using var created = await Http.PostAsJsonAsync("/v2/nvcf/telemetries", Request(UniqueName(), types: ["METRICS"]));
        var id = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["telemetry"]!["telemetryId"]!;

        using var response = await Http.PostAsJsonAsync("/v2/nvcf/functions", FunctionNaming("wrong-signal", new { logsTelemetryId = id }));
        var problem = await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("Invalid telemetry type", (string?)problem["detail"]);

        var function = await Http.CreateFunctionAsync(FunctionNaming("right-signal", new { metricsTelemetryId = id }));
        Assert.Equal(id, (string?)function["telemetries"]!["metricsTelemetryId"]);

        using var refused = await Http.DeleteAsync($"/v2/nvcf/telemetries/{id}");
        var inUse = await refused.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(
            $"[Telemetry '{id}': Cannot be deleted as it is in use by Function id '{function.Id()}', version '{function.VersionId()}' - Delete the function first to be able to delete the telemetry.]",
            (string?)inUse["detail"]);
        using var stillThere = await Http.GetAsync($"/v2/nvcf/telemetries/{id}");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
    }

    private static object FunctionNaming(string name, object telemetries) =>
        new { name, inferenceUrl = "/echo", containerImage = "example/image:1", telemetries };

    private static string UniqueName() => "telemetry-" + Guid.NewGuid().ToString("N")[..10];

    private static object Request(string name, string provider = "OTEL_COLLECTOR", string protocol = "HTTP", string[]? types = null) => new
    {
        endpoint = "https://collector.example.com:4318",
        protocol,
        provider,
        types = types ?? ["TRACES"],
        secret = new { name, value = "the-secret-value" },
    };
}
