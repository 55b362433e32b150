using System.Text.Json.Nodes;
using Nvcf.Emulator.Domain;
using Nvcf.Emulator.State;
using StackExchange.Redis;

namespace Nvcf.Emulator.Tests.State;

/// <summary>The Redis store against a real Redis; each test under its own key prefix.</summary>
public class RedisFunctionStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly RedisFunctionStore _store = new(redis.Connection, $"test-{Guid.NewGuid():N}:");

    [Fact]
    public async Task AVersionComesBackWithEveryFieldItWasStoredWith()
    {
        var version = Version(Guid.NewGuid()) with
        {
            InferencePort = 9000,
            ContainerArgs = "serve --port 9000",
            ContainerEnvironment = [new EnvironmentEntry("A", "1")],
            Tags = ["x", "y"],
            Secrets = [new Secret("key", "value")],
            Health = new HealthCheck(HealthProtocol.Grpc, "/health", 9001, TimeSpan.FromSeconds(7), 204),
            LlmInvocationConfig = new JsonObject { ["k"] = 1 },
            Status = FunctionStatus.Active,
        };

        await _store.AddVersionAsync(version);
        var read = await _store.GetVersionAsync(version.Id, version.VersionId);

        Assert.NotNull(read);
        Assert.Equal(version.Name, read.Name);
        Assert.Equal(9000, read.InferencePort);
        Assert.Equal("serve --port 9000", read.ContainerArgs);
        Assert.Equal(new EnvironmentEntry("A", "1"), Assert.Single(read.ContainerEnvironment));
        Assert.Equal(["x", "y"], read.Tags);
        Assert.Equal(new Secret("key", "value"), Assert.Single(read.Secrets));
        Assert.Equal(version.Health, read.Health);
        Assert.Equal(1, (int)read.LlmInvocationConfig!["k"]!);
        Assert.Equal(FunctionStatus.Active, read.Status);
        Assert.Equal(version.CreatedAt, read.CreatedAt);
    }

    [Fact]
    public async Task TelemetriesAreStoredWithTheirSecretUpdatedAndRemoved()
    {
        var telemetry = new Telemetry
        {
            TelemetryId = Guid.NewGuid(),
            NcaId = "nca-b",
            Name = "collector",
            Endpoint = "https://collector.example.com:4318",
            Protocol = TelemetryProtocol.Grpc,
            Provider = TelemetryProvider.OtelCollector,
            Types = [TelemetryType.Traces, TelemetryType.Logs],
            Secret = new Secret("collector", "{\"x-otlp-api-key\":\"k\"}", IsObject: true),
            CreatedAt = DateTime.UtcNow,
        };

        await _store.AddTelemetryAsync(telemetry);
        var read = await _store.GetTelemetryAsync(telemetry.TelemetryId);
        Assert.NotNull(read);
        Assert.Equal(telemetry.Endpoint, read.Endpoint);
        Assert.Equal(TelemetryProtocol.Grpc, read.Protocol);
        Assert.Equal(TelemetryProvider.OtelCollector, read.Provider);
        Assert.Equal([TelemetryType.Traces, TelemetryType.Logs], read.Types);
        Assert.Equal(telemetry.Secret, read.Secret);
        Assert.Equal("nca-b", read.NcaId);
        Assert.Equal(telemetry.TelemetryId, Assert.Single(await _store.ListTelemetriesAsync()).TelemetryId);

        var updated = await _store.UpdateTelemetryAsync(telemetry.TelemetryId, t => t with { Secret = new Secret("collector", "token") });
        Assert.Equal("token", (await _store.GetTelemetryAsync(telemetry.TelemetryId))!.Secret.Value);
        Assert.Equal("token", updated!.Secret.Value);

        Assert.True(await _store.RemoveTelemetryAsync(telemetry.TelemetryId));
        Assert.Null(await _store.GetTelemetryAsync(telemetry.TelemetryId));
        Assert.Null(await _store.UpdateTelemetryAsync(telemetry.TelemetryId, t => t));
        Assert.Empty(await _store.ListTelemetriesAsync());
    }

    [Fact]
    public async Task ATelemetryOrRegistryCredentialStoredWithoutAnAccountReadsBackAsTheDefaultAccounts()
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var store = new RedisFunctionStore(redis.Connection, prefix, defaultNcaId: "nca-default");
        var telemetry = new Telemetry
        {
            TelemetryId = Guid.NewGuid(),
            NcaId = "nca-b",
            Name = "collector",
            Endpoint = "https://collector.example.com:4318",
            Protocol = TelemetryProtocol.Http,
            Provider = TelemetryProvider.OtelCollector,
            Types = [TelemetryType.Traces],
            Secret = new Secret("collector", "token"),
            CreatedAt = DateTime.UtcNow,
        };
        var credential = new RegistryCredential
        {
            Id = Guid.NewGuid(),
            NcaId = "nca-b",
            Name = "pull",
            RegistryName = "NGC Private Registry",
            Hostname = "nvcr.io",
            ArtifactTypes = [ArtifactType.Container],
            Secret = Convert.ToBase64String("$oauthtoken:key"u8),
            CreatedAt = DateTime.UtcNow,
            LastUpdatedAt = DateTime.UtcNow,
        };
        await store.AddTelemetryAsync(telemetry);
        await store.SaveRegistryCredentialAsync(credential);
        Assert.Equal("nca-b", (await store.GetTelemetryAsync(telemetry.TelemetryId))!.NcaId);
        Assert.Equal("nca-b", (await store.GetRegistryCredentialAsync(credential.Id))!.NcaId);

        // Both written without "ncaId", as by an emulator before accounts.
        var database = redis.Connection.GetDatabase();
        foreach (var (hash, id) in new[] { ("telemetries", telemetry.TelemetryId), ("registry-credentials", credential.Id) })
        {
            var json = JsonNode.Parse((string)(await database.HashGetAsync(prefix + hash, id.ToString("N")))!)!.AsObject();
            Assert.True(json.Remove("ncaId"));
            await database.HashSetAsync(prefix + hash, id.ToString("N"), json.ToJsonString());
        }

        Assert.Equal("nca-default", (await store.GetTelemetryAsync(telemetry.TelemetryId))!.NcaId);
        Assert.Equal("nca-default", Assert.Single(await store.ListTelemetriesAsync()).NcaId);
        Assert.Equal("nca-default", (await store.GetRegistryCredentialAsync(credential.Id))!.NcaId);
        Assert.Equal("nca-default", Assert.Single(await store.ListRegistryCredentialsAsync()).NcaId);

        // An update keeps the account it was read with.
        var updated = await store.UpdateTelemetryAsync(telemetry.TelemetryId, t => t with { Secret = new Secret("collector", "new") });
        Assert.Equal("nca-default", updated!.NcaId);
        Assert.Equal("nca-default", (await new RedisFunctionStore(redis.Connection, prefix).GetTelemetryAsync(telemetry.TelemetryId))!.NcaId);
    }

    [Fact]
    public async Task WhoAVersionIsSharedWithIsStoredWithItAndAVersionStoredBeforeSharingReadsAsSharedWithNobody()
    {
        var version = Version(Guid.NewGuid()) with { FunctionAuthorizedAccounts = ["nca-b", "nca-c"], VersionAuthorizedAccounts = ["nca-d"] };
        await _store.AddVersionAsync(version);

        var read = (await _store.GetVersionAsync(version.Id, version.VersionId))!;
        Assert.Equal(["nca-b", "nca-c"], read.FunctionAuthorizedAccounts);
        Assert.Equal(["nca-d"], read.VersionAuthorizedAccounts);
        Assert.True(read.IsSharedWith("nca-d"));

        var unshared = await _store.UpdateVersionAsync(version.Id, version.VersionId, v => v with { FunctionAuthorizedAccounts = [] });
        Assert.Empty((await _store.GetVersionAsync(version.Id, version.VersionId))!.FunctionAuthorizedAccounts);
        Assert.Equal(["nca-d"], unshared!.VersionAuthorizedAccounts);

        // A version written without the fields (as by an emulator before sharing existed).
        var prefix = $"test-{Guid.NewGuid():N}:";
        var store = new RedisFunctionStore(redis.Connection, prefix);
        var older = Version(Guid.NewGuid());
        await store.AddVersionAsync(older);
        var database = redis.Connection.GetDatabase();
        var json = JsonNode.Parse((string)(await database.HashGetAsync(prefix + "versions", older.VersionId.ToString("N")))!)!.AsObject();
        Assert.True(json.Remove("functionAuthorizedAccounts"));
        Assert.True(json.Remove("versionAuthorizedAccounts"));
        await database.HashSetAsync(prefix + "versions", older.VersionId.ToString("N"), json.ToJsonString());
        var legacy = (await store.GetVersionAsync(older.Id, older.VersionId))!;
        Assert.Empty(legacy.FunctionAuthorizedAccounts);
        Assert.Empty(legacy.VersionAuthorizedAccounts);
    }

    [Fact]
    public async Task VersionsAreListedByCreationTimeAndFilteredByFunction()
    {
        var first = Guid.NewGuid();
        var second = Guid.NewGuid();
        var now = DateTime.UtcNow;
        var newer = Version(first) with { CreatedAt = now };
        var older = Version(first) with { CreatedAt = now.AddMinutes(-1) };
        var other = Version(second) with { CreatedAt = now.AddMinutes(-2) };
        await _store.AddVersionAsync(newer);
        await _store.AddVersionAsync(older);
        await _store.AddVersionAsync(other);

        Assert.Equal([older.VersionId, newer.VersionId], (await _store.ListVersionsAsync(first)).Select(v => v.VersionId));
        Assert.Equal([other.VersionId, older.VersionId, newer.VersionId], (await _store.ListVersionsAsync()).Select(v => v.VersionId));
    }

    [Fact]
    public async Task AVersionIsOnlyFoundUpdatedAndRemovedUnderItsOwnFunction()
    {
        var version = Version(Guid.NewGuid());
        await _store.AddVersionAsync(version);
        var stranger = Guid.NewGuid();

        Assert.Null(await _store.GetVersionAsync(stranger, version.VersionId));
        Assert.Null(await _store.UpdateVersionAsync(stranger, version.VersionId, v => v with { Tags = ["no"] }));
        Assert.False(await _store.RemoveVersionAsync(stranger, version.VersionId));

        var updated = await _store.UpdateVersionAsync(version.Id, version.VersionId, v => v with { Tags = ["yes"] });
        Assert.Equal(["yes"], updated!.Tags);
        Assert.Equal(["yes"], (await _store.GetVersionAsync(version.Id, version.VersionId))!.Tags);

        Assert.True(await _store.RemoveVersionAsync(version.Id, version.VersionId));
        Assert.Null(await _store.GetVersionAsync(version.Id, version.VersionId));
        Assert.False(await _store.RemoveVersionAsync(version.Id, version.VersionId));
    }

    [Fact]
    public async Task AddingAVersionTwiceIsRefused()
    {
        var version = Version(Guid.NewGuid());
        await _store.AddVersionAsync(version);

        await Assert.ThrowsAsync<ArgumentException>(async () => await _store.AddVersionAsync(version));
    }

    [Fact]
    public async Task DeploymentsAreFoundByVersionAndByIdListedUpdatedAndRemoved()
    {
        var deployment = Deployment(Guid.NewGuid());
        Assert.Null(await _store.UpdateDeploymentAsync(deployment.VersionId, d => d));

        await _store.SaveDeploymentAsync(deployment);

        Assert.Equal(deployment.DeploymentId, (await _store.GetDeploymentAsync(deployment.VersionId))!.DeploymentId);
        var byId = await _store.GetDeploymentByIdAsync(deployment.DeploymentId);
        Assert.Equal(deployment.VersionId, byId!.VersionId);
        Assert.Equal(3, Assert.Single(byId.Specifications).MaxInstances);
        Assert.Equal(deployment.DeploymentId, Assert.Single(await _store.ListDeploymentsAsync()).DeploymentId);

        var updated = await _store.UpdateDeploymentAsync(deployment.VersionId, d => d with { Draining = true });
        Assert.True(updated!.Draining);
        Assert.True((await _store.GetDeploymentAsync(deployment.VersionId))!.Draining);

        Assert.True(await _store.RemoveDeploymentAsync(deployment.VersionId));
        Assert.Null(await _store.GetDeploymentAsync(deployment.VersionId));
        Assert.Empty(await _store.ListDeploymentsAsync());
    }

    [Fact]
    public async Task ConcurrentUpdatesFromTwoConnectionsAreAllApplied()
    {
        var prefix = $"race-{Guid.NewGuid():N}:";
        using var other = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var one = new RedisFunctionStore(redis.Connection, prefix);
        var two = new RedisFunctionStore(other, prefix);
        var deployment = Deployment(Guid.NewGuid());
        await one.SaveDeploymentAsync(deployment);

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? one : two)
            .UpdateDeploymentAsync(deployment.VersionId, d => d with { HealthInfo = [.. d.HealthInfo, new DeploymentHealth("L40", null, "t", $"{i}")] })
            .AsTask()));

        var final = await one.GetDeploymentAsync(deployment.VersionId);
        Assert.Equal(40, final!.HealthInfo.Count);
        Assert.Equal(40, final.HealthInfo.Select(h => h.Error).Distinct().Count());
    }

    [Fact]
    public async Task TheStateIdIsCreatedOnceAndSharedByEveryStoreOnTheSameRedis()
    {
        var prefix = $"id-{Guid.NewGuid():N}:";
        var first = await new RedisFunctionStore(redis.Connection, prefix).GetStateIdAsync();
        var second = await new RedisFunctionStore(redis.Connection, prefix).GetStateIdAsync();

        Assert.False(string.IsNullOrEmpty(first));
        Assert.Equal(first, second);
        Assert.NotEqual(first, await _store.GetStateIdAsync());
        Assert.Null(await new InMemoryFunctionStore().GetStateIdAsync());
    }

    public static TheoryData<string> Stores => ["redis", "memory"];

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task RegistryCredentialsAreStoredWithEveryFieldListedByCreationReplacedAndRemoved(string kind)
    {
        IFunctionStore store = kind == "redis" ? _store : new InMemoryFunctionStore();
        var now = DateTime.UtcNow;
        var older = Credential(now.AddMinutes(-1)) with { Tags = ["a", "b"], Description = "pulls" };
        var newer = Credential(now);
        await store.SaveRegistryCredentialAsync(newer);
        await store.SaveRegistryCredentialAsync(older);

        var read = await store.GetRegistryCredentialAsync(older.Id);
        Assert.NotNull(read);
        Assert.Equal(older with { Tags = null, ArtifactTypes = [] }, read with { Tags = null, ArtifactTypes = [] });
        Assert.Equal(["a", "b"], read.Tags);
        Assert.Equal([ArtifactType.Container, ArtifactType.Helm], read.ArtifactTypes);
        Assert.Equal([older.Id, newer.Id], (await store.ListRegistryCredentialsAsync()).Select(c => c.Id));

        await store.SaveRegistryCredentialAsync(older with { Name = "renamed" });
        Assert.Equal("renamed", (await store.GetRegistryCredentialAsync(older.Id))!.Name);
        Assert.Equal(2, (await store.ListRegistryCredentialsAsync()).Count);

        Assert.True(await store.RemoveRegistryCredentialAsync(older.Id));
        Assert.False(await store.RemoveRegistryCredentialAsync(older.Id));
        Assert.Null(await store.GetRegistryCredentialAsync(older.Id));
        Assert.Equal([newer.Id], (await store.ListRegistryCredentialsAsync()).Select(c => c.Id));
    }

    private static RegistryCredential Credential(DateTime created) => new()
    {
        Id = Guid.NewGuid(),
        NcaId = "local-nca-id",
        Name = "ngc",
        RegistryName = "NGC Private Registry",
        Hostname = "nvcr.io",
        ArtifactTypes = [ArtifactType.Container, ArtifactType.Helm],
        Secret = Convert.ToBase64String("$oauthtoken:key"u8.ToArray()),
        CreatedAt = created,
        LastUpdatedAt = created,
    };

    private static FunctionVersion Version(Guid functionId) => new()
    {
        Id = functionId,
        VersionId = Guid.NewGuid(),
        NcaId = "local-nca-id",
        Name = "echo",
        Description = "echo",
        InferenceUrl = "/echo",
        Health = HealthCheck.Default("/echo", null, null),
        CreatedAt = DateTime.UtcNow,
    };

    private static Deployment Deployment(Guid functionId) => new()
    {
        DeploymentId = Guid.NewGuid(),
        FunctionId = functionId,
        VersionId = Guid.NewGuid(),
        Specifications =
        [
            new GpuSpecification { GpuSpecificationId = Guid.NewGuid(), Gpu = "L40", InstanceType = "gl40_1.br20_2xlarge", MinInstances = 1, MaxInstances = 3 },
        ],
        CreatedAt = DateTime.UtcNow,
        LastUpdatedAt = DateTime.UtcNow,
    };
}
