using System.Text.Json;
using System.Text.Json.Serialization;
using Nvcf.Emulator.Domain;
using StackExchange.Redis;

namespace Nvcf.Emulator.State;

/// <summary>
/// Function versions and deployments in Redis, so they outlive the emulator process. Two hashes under
/// <see cref="DefaultPrefix"/>: <c>versions</c> and <c>deployments</c>, both keyed by version ID, values as JSON.
/// Updates are optimistic: read, apply, write only if the value is still the one read (a Redis transaction with
/// a <c>WATCH</c>-style condition), else retry. <c>state-id</c> names this store on the containers it owns.
/// </summary>
public sealed class RedisFunctionStore : IFunctionStore, IDisposable
{
    public const string DefaultPrefix = "nvcf:";
    private const int MaxAttempts = 100;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        IgnoreReadOnlyProperties = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly IConnectionMultiplexer _redis;
    private readonly bool _ownsConnection;
    private readonly RedisKey _versions;
    private readonly RedisKey _deployments;
    private readonly RedisKey _stateId;

    public RedisFunctionStore(IConnectionMultiplexer redis, string prefix = DefaultPrefix, bool ownsConnection = false)
    {
        _redis = redis;
        _ownsConnection = ownsConnection;
        _versions = prefix + "versions";
        _deployments = prefix + "deployments";
        _stateId = prefix + "state-id";
    }

    /// <summary>Connects to <paramref name="connectionString"/> (StackExchange.Redis syntax, as Aspire injects it).</summary>
    public static RedisFunctionStore Connect(string connectionString)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        RequirePasswordOffLoopback(configuration);
        configuration.AbortOnConnectFail = false; // a Redis that comes up a little later is fine
        return new RedisFunctionStore(ConnectionMultiplexer.Connect(configuration), ownsConnection: true);
    }

    /// <summary>
    /// The store holds every function's secrets: one reachable beyond this machine's loopback (from a container, another
    /// host) must ask for a password.
    /// </summary>
    internal static void RequirePasswordOffLoopback(ConfigurationOptions configuration)
    {
        if (!string.IsNullOrEmpty(configuration.Password))
        {
            return;
        }

        var exposed = configuration.EndPoints.FirstOrDefault(e => e switch
        {
            System.Net.IPEndPoint ip => !System.Net.IPAddress.IsLoopback(ip.Address),
            System.Net.DnsEndPoint dns => !string.Equals(dns.Host, "localhost", StringComparison.OrdinalIgnoreCase),
            _ => true,
        });
        if (exposed is not null)
        {
            throw new InvalidOperationException(
                $"The Redis store at {Describe(exposed)} is not on this machine's loopback and has no password. It holds the functions' secrets: " +
                "give its password in the connection string (ConnectionStrings:state or Emulator:Redis, e.g. 'redis:6379,password=...').");
        }
    }

    private static string Describe(System.Net.EndPoint endPoint) => endPoint switch
    {
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endPoint.ToString() ?? "?",
    };

    private IDatabase Db => _redis.GetDatabase();

    /// <summary>Created once per store (the first emulator to ask), then the same for every emulator using it.</summary>
    public async ValueTask<string?> GetStateIdAsync(CancellationToken cancellationToken = default)
    {
        await Db.StringSetAsync(_stateId, Guid.NewGuid().ToString("N"), when: When.NotExists);
        return (string?)await Db.StringGetAsync(_stateId);
    }

    public async ValueTask<FunctionVersion?> GetVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken = default)
    {
        var version = Read<FunctionVersion>(await Db.HashGetAsync(_versions, Field(versionId)));
        return version?.Id == functionId ? version : null;
    }

    public async ValueTask<IReadOnlyList<FunctionVersion>> ListVersionsAsync(Guid? functionId = null, CancellationToken cancellationToken = default)
    {
        var entries = await Db.HashValuesAsync(_versions);
        return [.. entries
            .Select(e => Read<FunctionVersion>(e)!)
            .Where(v => functionId is null || v.Id == functionId)
            .OrderBy(v => v.CreatedAt)];
    }

    public async ValueTask AddVersionAsync(FunctionVersion version, CancellationToken cancellationToken = default)
    {
        if (!await Db.HashSetAsync(_versions, Field(version.VersionId), Write(version), When.NotExists))
        {
            throw new ArgumentException($"Version {version.VersionId} already exists.", nameof(version));
        }
    }

    public async ValueTask<FunctionVersion?> UpdateVersionAsync(Guid functionId, Guid versionId, Func<FunctionVersion, FunctionVersion> update, CancellationToken cancellationToken = default) =>
        await UpdateAsync(_versions, versionId, v => v.Id == functionId, update, cancellationToken);

    public async ValueTask<bool> RemoveVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var raw = await Db.HashGetAsync(_versions, Field(versionId));
            if (Read<FunctionVersion>(raw) is not { } current || current.Id != functionId)
            {
                return false;
            }

            var transaction = Db.CreateTransaction();
            transaction.AddCondition(Condition.HashEqual(_versions, Field(versionId), raw));
            _ = transaction.HashDeleteAsync(_versions, Field(versionId));
            if (await transaction.ExecuteAsync())
            {
                return true;
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        throw Contended(versionId);
    }

    public async ValueTask<Deployment?> GetDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default) =>
        Read<Deployment>(await Db.HashGetAsync(_deployments, Field(versionId)));

    public async ValueTask<Deployment?> GetDeploymentByIdAsync(Guid deploymentId, CancellationToken cancellationToken = default) =>
        (await ListDeploymentsAsync(cancellationToken)).FirstOrDefault(d => d.DeploymentId == deploymentId);

    public async ValueTask<IReadOnlyList<Deployment>> ListDeploymentsAsync(CancellationToken cancellationToken = default) =>
        [.. (await Db.HashValuesAsync(_deployments)).Select(e => Read<Deployment>(e)!)];

    public async ValueTask SaveDeploymentAsync(Deployment deployment, CancellationToken cancellationToken = default) =>
        await Db.HashSetAsync(_deployments, Field(deployment.VersionId), Write(deployment));

    public async ValueTask<Deployment?> UpdateDeploymentAsync(Guid versionId, Func<Deployment, Deployment> update, CancellationToken cancellationToken = default) =>
        await UpdateAsync(_deployments, versionId, static _ => true, update, cancellationToken);

    public async ValueTask<bool> RemoveDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default) =>
        await Db.HashDeleteAsync(_deployments, Field(versionId));

    public void Dispose()
    {
        if (_ownsConnection)
        {
            _redis.Dispose();
        }
    }

    /// <summary>Read, apply, and write only if nobody wrote in between; otherwise read again.</summary>
    private async Task<T?> UpdateAsync<T>(RedisKey key, Guid id, Func<T, bool> matches, Func<T, T> update, CancellationToken cancellationToken)
        where T : class
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var raw = await Db.HashGetAsync(key, Field(id));
            if (Read<T>(raw) is not { } current || !matches(current))
            {
                return null;
            }

            var updated = update(current);
            var transaction = Db.CreateTransaction();
            transaction.AddCondition(Condition.HashEqual(key, Field(id), raw));
            _ = transaction.HashSetAsync(key, Field(id), Write(updated));
            if (await transaction.ExecuteAsync())
            {
                return updated;
            }

            cancellationToken.ThrowIfCancellationRequested();
            await Task.Delay(Random.Shared.Next(1, 1 + Math.Min(attempt, 20)), cancellationToken);
        }

        throw Contended(id);
    }

    private static InvalidOperationException Contended(Guid id) =>
        new($"Entry {id} kept changing while it was being updated; gave up after {MaxAttempts} attempts.");

    private static RedisValue Field(Guid id) => id.ToString("N");

    private static RedisValue Write<T>(T value) => JsonSerializer.Serialize(value, Json);

    private static T? Read<T>(RedisValue value)
        where T : class =>
        value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<T>((string)value!, Json);
}
