using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// The ready instances of one function version and their request slots (<c>maxRequestConcurrency</c> each).
/// A request takes a slot on the least busy instance, or waits in FIFO order until one frees up; it never
/// fails for lack of a slot. The pool does not start instances: it tells its owner when requests wait.
/// </summary>
public sealed class InstancePool
{
    private readonly Lock _gate = new();
    private readonly List<PooledInstance> _instances = [];
    private readonly LinkedList<Waiter> _waiters = [];
    private Exception? _closedReason;

    /// <summary>Called (outside the pool's lock) when a request starts waiting because every slot is taken.</summary>
    public event Action? RequestQueued;

    /// <summary>Requests waiting for a slot.</summary>
    public int QueueDepth
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Requests holding a slot.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _instances.Sum(i => i.InFlight);
            }
        }
    }

    /// <summary>In-flight requests of one instance (0 when it is not in the pool).</summary>
    public int InFlightOn(Guid instanceId)
    {
        lock (_gate)
        {
            return _instances.FirstOrDefault(i => i.Target.InstanceId == instanceId)?.InFlight ?? 0;
        }
    }

    /// <summary>1-based place of a waiting request in the queue, or null when it is not waiting here.</summary>
    public int? PositionOf(Guid requestId)
    {
        lock (_gate)
        {
            var position = 1;
            for (var node = _waiters.First; node is not null; node = node.Next, position++)
            {
                if (node.Value.RequestId == requestId)
                {
                    return position;
                }
            }

            return null;
        }
    }

    public void Add(InstanceTarget target, int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        List<(Waiter, InstanceLease)> granted;
        lock (_gate)
        {
            if (_closedReason is not null)
            {
                return;
            }

            var instance = new PooledInstance(target, slots);
            _instances.Add(instance);
            granted = GrantWaiters(instance);
        }

        Complete(granted);
    }

    /// <summary>Takes the instance out of rotation; requests already on it finish normally.</summary>
    public void Remove(Guid instanceId)
    {
        lock (_gate)
        {
            _instances.RemoveAll(i => i.Target.InstanceId == instanceId);
        }
    }

    /// <summary>Takes a free slot if there is one and nobody is waiting; never waits.</summary>
    public bool TryAcquire([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out InstanceLease? lease)
    {
        lock (_gate)
        {
            var free = _closedReason is null && _waiters.Count == 0 ? LeastBusyWithFreeSlot() : null;
            if (free is null)
            {
                lease = null;
                return false;
            }

            free.InFlight++;
            lease = new InstanceLease(this, free);
            return true;
        }
    }

    /// <summary>Waits for a free slot. Throws <see cref="InstancePoolClosedException"/> when the version goes away meanwhile.</summary>
    public ValueTask<InstanceLease> AcquireAsync(CancellationToken cancellationToken) => AcquireAsync(Guid.Empty, cancellationToken);

    /// <summary>Waits for a free slot; <paramref name="requestId"/> lets <see cref="PositionOf"/> find the request in the queue.</summary>
    public ValueTask<InstanceLease> AcquireAsync(Guid requestId, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            if (_closedReason is not null)
            {
                return ValueTask.FromException<InstanceLease>(_closedReason);
            }

            var free = LeastBusyWithFreeSlot();
            if (free is not null && _waiters.Count == 0)
            {
                free.InFlight++;
                return ValueTask.FromResult(new InstanceLease(this, free));
            }

            waiter = new Waiter(this, requestId);
            waiter.Node = _waiters.AddLast(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.Register(static state => ((Waiter)state!).Owner.Cancel((Waiter)state!), waiter);
        }

        RequestQueued?.Invoke();
        return new ValueTask<InstanceLease>(waiter.Completion.Task);
    }

    /// <summary>Fails every waiting request and refuses new ones.</summary>
    public void Close(Exception reason)
    {
        List<Waiter> waiters;
        lock (_gate)
        {
            _closedReason ??= reason;
            waiters = [.. _waiters];
            _waiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetException(reason);
        }
    }

    internal void Release(PooledInstance instance)
    {
        List<(Waiter, InstanceLease)> granted;
        lock (_gate)
        {
            instance.InFlight--;
            granted = _instances.Contains(instance) ? GrantWaiters(instance) : [];
        }

        Complete(granted);
    }

    private void Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            _waiters.Remove(waiter.Node);
        }

        waiter.Completion.TrySetCanceled();
    }

    private PooledInstance? LeastBusyWithFreeSlot()
    {
        PooledInstance? best = null;
        foreach (var instance in _instances)
        {
            if (instance.InFlight < instance.Slots && (best is null || instance.InFlight * best.Slots < best.InFlight * instance.Slots))
            {
                best = instance;
            }
        }

        return best;
    }

    private List<(Waiter, InstanceLease)> GrantWaiters(PooledInstance instance)
    {
        var granted = new List<(Waiter, InstanceLease)>();
        while (_waiters.First is { } node && instance.InFlight < instance.Slots)
        {
            _waiters.RemoveFirst();
            instance.InFlight++;
            granted.Add((node.Value, new InstanceLease(this, instance)));
        }

        return granted;
    }

    private static void Complete(List<(Waiter Waiter, InstanceLease Lease)> granted)
    {
        foreach (var (waiter, lease) in granted)
        {
            waiter.Registration.Dispose();
            if (!waiter.Completion.TrySetResult(lease))
            {
                lease.Dispose();
            }
        }
    }

    private sealed class Waiter(InstancePool owner, Guid requestId)
    {
        public InstancePool Owner { get; } = owner;

        public Guid RequestId { get; } = requestId;

        public TaskCompletionSource<InstanceLease> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }
}

internal sealed class PooledInstance(InstanceTarget target, int slots)
{
    public InstanceTarget Target { get; } = target;

    public int Slots { get; } = slots;

    public int InFlight { get; set; }
}

/// <summary>Where requests for one instance go, and what the container is told about where it runs.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="InferenceBase">Base address of the instance's inference port.</param>
/// <param name="InstanceType">The instance type of its GPU specification.</param>
/// <param name="Backend">The backend (cluster group) name.</param>
/// <param name="Folders">The host folders behind the instance's <c>/var/inf</c>.</param>
public sealed record InstanceTarget(Guid InstanceId, Uri InferenceBase, string InstanceType, string Backend, InstanceFolders Folders)
{
    private readonly string _origin = InferenceBase.GetLeftPart(UriPartial.Authority);

    /// <summary>
    /// The address of a path (and query) on this instance. The path is only ever appended to the instance's origin,
    /// never resolved against it, so no path (<c>//host:port/x</c>, <c>///x</c>, <c>\\host</c>) can lead anywhere else.
    /// </summary>
    /// <exception cref="UriFormatException">The path is not one an HTTP request can carry.</exception>
    public Uri AddressOf(string pathAndQuery)
    {
        var address = new Uri(pathAndQuery.StartsWith('/') ? _origin + pathAndQuery : _origin + "/" + pathAndQuery, UriKind.Absolute);
        return string.Equals(address.GetLeftPart(UriPartial.Authority), _origin, StringComparison.OrdinalIgnoreCase)
            ? address
            : throw new UriFormatException($"The path '{pathAndQuery}' does not stay on the instance.");
    }
}

/// <summary>A request's slot on one instance; disposing it frees the slot.</summary>
public sealed class InstanceLease : IDisposable
{
    private readonly InstancePool _pool;
    private readonly PooledInstance _instance;
    private int _released;

    internal InstanceLease(InstancePool pool, PooledInstance instance)
    {
        _pool = pool;
        _instance = instance;
    }

    public InstanceTarget Target => _instance.Target;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _pool.Release(_instance);
        }
    }
}

/// <summary>The version stopped serving (undeployed, deleted or failed) while a request waited for it.</summary>
public sealed class InstancePoolClosedException(string message) : Exception(message);
