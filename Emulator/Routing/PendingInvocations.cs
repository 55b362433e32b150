using System.Collections.Concurrent;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// Invocations answered 202 whose result is still on its way or waiting to be fetched through
/// <c>/pexec/status/{requestId}</c> (docs/nvcf-contract.md#waiting-and-polling). A record is gone once its final answer
/// was delivered, and also when the client stops polling: after <c>max(2 × poll window, 10 s)</c> without contact, as
/// the worker does, the work is cancelled and the record dropped.
/// </summary>
public sealed class PendingInvocations : IDisposable
{
    private static readonly TimeSpan MinimumIdle = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<Guid, PendingInvocation> _pending = new();
    private readonly Timer _sweeper;

    public PendingInvocations() => _sweeper = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    public int Count => _pending.Count;

    public void Add(PendingInvocation invocation) => _pending[invocation.RequestId] = invocation;

    /// <summary>The caller's own pending request (another account's is not found), counted as the caller's contact.</summary>
    public PendingInvocation? Find(Guid requestId, string ncaId)
    {
        if (_pending.TryGetValue(requestId, out var invocation) && invocation.NcaId == ncaId)
        {
            invocation.Touch();
            return invocation;
        }

        return null;
    }

    /// <summary>The caller's own pending request, looked up without counting as the caller's contact.</summary>
    public PendingInvocation? Peek(Guid requestId, string ncaId) =>
        _pending.GetValueOrDefault(requestId) is { } invocation && invocation.NcaId == ncaId ? invocation : null;

    /// <summary>Forgets a record whose final answer has been delivered.</summary>
    public void Complete(PendingInvocation invocation) => _pending.TryRemove(invocation.RequestId, out _);

    public void Dispose()
    {
        _sweeper.Dispose();
        foreach (var invocation in _pending.Values)
        {
            invocation.Abandon();
        }
    }

    private void Sweep()
    {
        var now = DateTime.UtcNow;
        foreach (var invocation in _pending.Values)
        {
            var idle = TimeSpan.FromTicks(Math.Max(MinimumIdle.Ticks, 2 * TimeSpan.FromSeconds(invocation.PollSeconds).Ticks));
            if (now - invocation.LastContact > idle && _pending.TryRemove(invocation.RequestId, out _))
            {
                invocation.Abandon();
            }
        }
    }
}

/// <summary>One invocation running on after its caller got 202.</summary>
public sealed class PendingInvocation(
    Guid requestId, string ncaId, Domain.FunctionVersion version, int pollSeconds, Runtime.RequestFolders folders, CancellationTokenSource work)
{
    private long _lastContactTicks = DateTime.UtcNow.Ticks;

    public Guid RequestId { get; } = requestId;

    /// <summary>The caller's account: only it may poll for the result.</summary>
    public string NcaId { get; } = ncaId;

    /// <summary>The version serving it.</summary>
    public Domain.FunctionVersion Version { get; } = version;

    public Guid FunctionId => Version.Id;

    public Guid VersionId => Version.VersionId;

    public int PollSeconds { get; } = pollSeconds;

    public Runtime.RequestFolders Folders { get; } = folders;

    /// <summary>The final answer, once the container has given it.</summary>
    public Task<FinalAnswer> Result { get; set; } = null!;

    /// <summary>Modification time of the last progress report delivered to the client.</summary>
    public DateTime ProgressDelivered { get; set; }

    public DateTime LastContact => new(Interlocked.Read(ref _lastContactTicks), DateTimeKind.Utc);

    public void Touch() => Interlocked.Exchange(ref _lastContactTicks, DateTime.UtcNow.Ticks);

    /// <summary>The client is gone: stop the work.</summary>
    public void Abandon()
    {
        try
        {
            work.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>A new progress report, if the function wrote one since the last delivered.</summary>
    public ProgressReport? NewProgress() =>
        ProgressReport.Read(Folders.ProgressPath, RequestId) is { } report && report.WrittenAt > ProgressDelivered ? report : null;
}
