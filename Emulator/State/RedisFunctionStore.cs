using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Domain;
using StackExchange.Redis;

namespace Nvcf.Emulator.State;

/// <summary>
/// Function versions, deployments, registry credentials and telemetries in Redis, so they outlive the emulator process.
/// Hashes under <see cref="DefaultPrefix"/>: <c>versions</c> and <c>deployments</c>, both keyed by version ID,
/// <c>registry-credentials</c>, keyed by credential ID, and <c>telemetries</c>, keyed by telemetry ID; values as JSON.
/// Updates are optimistic: read, apply, write only if the value is still the one read (a Redis transaction with
/// a <c>WATCH</c>-style condition), else retry. <c>state-id</c> names this store on the containers it owns.
/// <para>
/// An outage is answered at once: while Redis cannot be reached (refused, or timed out after
/// <see cref="DefaultTimeoutMs"/>), every call throws <see cref="StoreUnavailableException"/> without waiting, and a
/// probe pings Redis every <see cref="ProbeInterval"/> until it answers again.
/// </para>
/// </summary>
public sealed class RedisFunctionStore : IFunctionStore, IDisposable
{
    public const string DefaultPrefix = "nvcf:";
    private const int MaxAttempts = 100;

    /// <summary>Connect and command timeout unless the connection string sets its own: an outage costs at most this.</summary>
    public const int DefaultTimeoutMs = 2000;

    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(500);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        IgnoreReadOnlyProperties = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { OwnerMayBeMissing } },
    };

    private readonly IConnectionMultiplexer _redis;
    private readonly bool _ownsConnection;
    private readonly RedisKey _versions;
    private readonly RedisKey _deployments;
    private readonly RedisKey _registryCredentials;
    private readonly RedisKey _telemetries;
    private readonly RedisKey _stateId;
    private readonly string _defaultNcaId;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private string? _outage;
    private int _probing;

    /// <param name="defaultNcaId">
    /// The account of registry credentials and telemetries stored before they had one (<c>Emulator:NcaId</c>).
    /// </param>
    public RedisFunctionStore(
        IConnectionMultiplexer redis, string prefix = DefaultPrefix, bool ownsConnection = false, ILogger? logger = null, string? defaultNcaId = null)
    {
        _defaultNcaId = defaultNcaId ?? new EmulatorOptions().NcaId;
        _redis = redis;
        _ownsConnection = ownsConnection;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _versions = prefix + "versions";
        _deployments = prefix + "deployments";
        _registryCredentials = prefix + "registry-credentials";
        _telemetries = prefix + "telemetries";
        _stateId = prefix + "state-id";
        Endpoint = string.Join(",", redis.GetEndPoints().Select(EndPointCollection.ToString));
    }

    /// <summary>Where the store is (host:port), as problems and logs name it.</summary>
    public string Endpoint { get; }

    /// <summary>
    /// Connects to <paramref name="connectionString"/> (StackExchange.Redis syntax, as Aspire injects it). A Redis that
    /// is not there yet is fine: the connection keeps retrying, and calls fail with
    /// <see cref="StoreUnavailableException"/> until it answers.
    /// </summary>
    public static RedisFunctionStore Connect(string connectionString, ILogger? logger = null, string? defaultNcaId = null)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);
        RequirePasswordOffLoopback(configuration);
        configuration.AbortOnConnectFail = false;
        foreach (var (setting, apply) in new (string, Action<ConfigurationOptions>)[]
        {
            ("connectTimeout", c => c.ConnectTimeout = DefaultTimeoutMs),
            ("asyncTimeout", c => c.AsyncTimeout = DefaultTimeoutMs),
            ("syncTimeout", c => c.SyncTimeout = DefaultTimeoutMs),
        })
        {
            if (!connectionString.Contains(setting, StringComparison.OrdinalIgnoreCase))
            {
                apply(configuration);
            }
        }

        return new RedisFunctionStore(ConnectionMultiplexer.Connect(configuration), ownsConnection: true, logger: logger, defaultNcaId: defaultNcaId);
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

    /// <summary>Null while the store answers, else why it does not.</summary>
    public string? Outage => !_redis.IsConnected ? "not connected" : _outage;

    /// <summary>Pings the store (bounded by its timeouts); the round trip, or <see cref="StoreUnavailableException"/>.</summary>
    public async Task<TimeSpan> PingAsync() => await RunAsync(db => db.PingAsync(), probe: true);

    /// <summary>
    /// Runs one command, or throws <see cref="StoreUnavailableException"/> at once while the store is known to be
    /// down. A connection failure or timeout marks it down and starts the probe that notices its return.
    /// </summary>
    private async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> command, bool probe = false)
    {
        if (!probe && Outage is { } outage)
        {
            MarkDown(outage);
            throw new StoreUnavailableException(Endpoint, outage);
        }

        try
        {
            var result = await command(_redis.GetDatabase());
            if (probe && Interlocked.Exchange(ref _outage, null) is not null)
            {
                _logger.StoreBack(Endpoint);
            }

            return result;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            MarkDown(e.Message);
            throw new StoreUnavailableException(Endpoint, e.Message, e);
        }
    }

    private void MarkDown(string cause)
    {
        if (Interlocked.CompareExchange(ref _outage, cause, null) is null)
        {
            _logger.StoreDown(Endpoint, cause);
        }

        StartProbe();
    }

    private void StartProbe()
    {
        if (Interlocked.Exchange(ref _probing, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                while (!_disposed.IsCancellationRequested && Outage is not null)
                {
                    await Task.Delay(ProbeInterval, _disposed.Token);
                    try
                    {
                        if (_redis.IsConnected)
                        {
                            await PingAsync();
                        }
                    }
                    catch (StoreUnavailableException)
                    {
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                Volatile.Write(ref _probing, 0);
            }
        });
    }

    /// <summary>Created once per store (the first emulator to ask), then the same for every emulator using it.</summary>
    public async ValueTask<string?> GetStateIdAsync(CancellationToken cancellationToken = default)
    {
        await RunAsync(db => db.StringSetAsync(_stateId, Guid.NewGuid().ToString("N"), when: When.NotExists));
        return (string?)await RunAsync(db => db.StringGetAsync(_stateId));
    }

    public async ValueTask<FunctionVersion?> GetVersionAsync(Guid functionId, Guid versionId, CancellationToken cancellationToken = default)
    {
        var version = Read<FunctionVersion>(await RunAsync(db => db.HashGetAsync(_versions, Field(versionId))));
        return version?.Id == functionId ? version : null;
    }

    public async ValueTask<IReadOnlyList<FunctionVersion>> ListVersionsAsync(Guid? functionId = null, CancellationToken cancellationToken = default)
    {
        var entries = await RunAsync(db => db.HashValuesAsync(_versions));
        return [.. entries
            .Select(e => Read<FunctionVersion>(e)!)
            .Where(v => functionId is null || v.Id == functionId)
            .OrderBy(v => v.CreatedAt)];
    }

    public async ValueTask AddVersionAsync(FunctionVersion version, CancellationToken cancellationToken = default)
    {
        if (!await RunAsync(db => db.HashSetAsync(_versions, Field(version.VersionId), Write(version), When.NotExists)))
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
            var raw = await RunAsync(db => db.HashGetAsync(_versions, Field(versionId)));
            if (Read<FunctionVersion>(raw) is not { } current || current.Id != functionId)
            {
                return false;
            }

            var removed = await RunAsync(db =>
            {
                var transaction = db.CreateTransaction();
                transaction.AddCondition(Condition.HashEqual(_versions, Field(versionId), raw));
                _ = transaction.HashDeleteAsync(_versions, Field(versionId));
                return transaction.ExecuteAsync();
            });
            if (removed)
            {
                return true;
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        throw Contended(versionId);
    }

    public async ValueTask<Deployment?> GetDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default) =>
        Read<Deployment>(await RunAsync(db => db.HashGetAsync(_deployments, Field(versionId))));

    public async ValueTask<Deployment?> GetDeploymentByIdAsync(Guid deploymentId, CancellationToken cancellationToken = default) =>
        (await ListDeploymentsAsync(cancellationToken)).FirstOrDefault(d => d.DeploymentId == deploymentId);

    public async ValueTask<IReadOnlyList<Deployment>> ListDeploymentsAsync(CancellationToken cancellationToken = default) =>
        [.. (await RunAsync(db => db.HashValuesAsync(_deployments))).Select(e => Read<Deployment>(e)!)];

    public async ValueTask SaveDeploymentAsync(Deployment deployment, CancellationToken cancellationToken = default) =>
        await RunAsync(db => db.HashSetAsync(_deployments, Field(deployment.VersionId), Write(deployment)));

    public async ValueTask<Deployment?> UpdateDeploymentAsync(Guid versionId, Func<Deployment, Deployment> update, CancellationToken cancellationToken = default) =>
        await UpdateAsync(_deployments, versionId, static _ => true, update, cancellationToken);

    public async ValueTask<bool> RemoveDeploymentAsync(Guid versionId, CancellationToken cancellationToken = default) =>
        await RunAsync(db => db.HashDeleteAsync(_deployments, Field(versionId)));

    public async ValueTask<IReadOnlyList<RegistryCredential>> ListRegistryCredentialsAsync(CancellationToken cancellationToken = default) =>
        [.. (await RunAsync(db => db.HashValuesAsync(_registryCredentials))).Select(e => Read<RegistryCredential>(e)!).OrderBy(c => c.CreatedAt)];

    public async ValueTask<RegistryCredential?> GetRegistryCredentialAsync(Guid id, CancellationToken cancellationToken = default) =>
        Read<RegistryCredential>(await RunAsync(db => db.HashGetAsync(_registryCredentials, Field(id))));

    public async ValueTask SaveRegistryCredentialAsync(RegistryCredential credential, CancellationToken cancellationToken = default) =>
        await RunAsync(db => db.HashSetAsync(_registryCredentials, Field(credential.Id), Write(credential)));

    public async ValueTask<bool> RemoveRegistryCredentialAsync(Guid id, CancellationToken cancellationToken = default) =>
        await RunAsync(db => db.HashDeleteAsync(_registryCredentials, Field(id)));

    public async ValueTask<IReadOnlyList<Telemetry>> ListTelemetriesAsync(CancellationToken cancellationToken = default) =>
        [.. (await RunAsync(db => db.HashValuesAsync(_telemetries))).Select(e => Read<Telemetry>(e)!).OrderBy(t => t.CreatedAt)];

    public async ValueTask<Telemetry?> GetTelemetryAsync(Guid telemetryId, CancellationToken cancellationToken = default) =>
        Read<Telemetry>(await RunAsync(db => db.HashGetAsync(_telemetries, Field(telemetryId))));

    public async ValueTask AddTelemetryAsync(Telemetry telemetry, CancellationToken cancellationToken = default)
    {
        if (!await RunAsync(db => db.HashSetAsync(_telemetries, Field(telemetry.TelemetryId), Write(telemetry), When.NotExists)))
        {
            throw new ArgumentException($"Telemetry {telemetry.TelemetryId} already exists.", nameof(telemetry));
        }
    }

    public async ValueTask<Telemetry?> UpdateTelemetryAsync(Guid telemetryId, Func<Telemetry, Telemetry> update, CancellationToken cancellationToken = default) =>
        await UpdateAsync(_telemetries, telemetryId, static _ => true, update, cancellationToken);

    public async ValueTask<bool> RemoveTelemetryAsync(Guid telemetryId, CancellationToken cancellationToken = default) =>
        await RunAsync(db => db.HashDeleteAsync(_telemetries, Field(telemetryId)));

    public void Dispose()
    {
        _disposed.Cancel();
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
            var raw = await RunAsync(db => db.HashGetAsync(key, Field(id)));
            if (Read<T>(raw) is not { } current || !matches(current))
            {
                return null;
            }

            var updated = update(current);
            var written = await RunAsync(db =>
            {
                var transaction = db.CreateTransaction();
                transaction.AddCondition(Condition.HashEqual(key, Field(id), raw));
                _ = transaction.HashSetAsync(key, Field(id), Write(updated));
                return transaction.ExecuteAsync();
            });
            if (written)
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

    /// <summary>
    /// The stored value; a registry credential or telemetry stored without <c>ncaId</c> (before accounts) reads back as
    /// the default account's.
    /// </summary>
    private T? Read<T>(RedisValue value)
        where T : class =>
        (value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<T>((string)value!, Json)) switch
        {
            Telemetry { NcaId: null } telemetry => (T)(object)(telemetry with { NcaId = _defaultNcaId }),
            RegistryCredential { NcaId: null } credential => (T)(object)(credential with { NcaId = _defaultNcaId }),
            var read => read,
        };

    /// <summary>Lets <c>ncaId</c> of a registry credential or telemetry be absent (records written before accounts).</summary>
    private static void OwnerMayBeMissing(JsonTypeInfo type)
    {
        if (type.Type != typeof(Telemetry) && type.Type != typeof(RegistryCredential))
        {
            return;
        }

        foreach (var property in type.Properties)
        {
            if (property.Name == "ncaId")
            {
                property.IsRequired = false;
            }
        }
    }
}
