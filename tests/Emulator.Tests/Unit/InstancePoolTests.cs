using Nvcf.Emulator.Routing;
using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Tests.Unit;

public class InstancePoolTests
{
    [Fact]
    public async Task RequestsBeyondTheSlotsWaitInOrderAndGetTheFreedSlot()
    {
        var pool = new InstancePool();
        var queued = 0;
        pool.RequestQueued += () => queued++;
        pool.Add(Target(), slots: 2);

        Assert.True(pool.TryAcquire(out var first));
        Assert.True(pool.TryAcquire(out var second));
        Assert.False(pool.TryAcquire(out _));

        var third = pool.AcquireAsync(CancellationToken.None);
        var fourth = pool.AcquireAsync(CancellationToken.None);
        Assert.False(third.IsCompleted);
        Assert.Equal(2, pool.QueueDepth);
        Assert.Equal(2, queued);

        first.Dispose();
        var thirdLease = await third.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(fourth.IsCompleted);
        Assert.Equal(1, pool.QueueDepth);
        Assert.Equal(2, pool.InFlight);

        second.Dispose();
        (await fourth.AsTask().WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        thirdLease.Dispose();
        Assert.Equal(0, pool.InFlight);
    }

    [Fact]
    public async Task AWaitingRequestGetsANewInstanceAsSoonAsItIsAdded()
    {
        var pool = new InstancePool();
        var waiting = pool.AcquireAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        var target = Target();
        pool.Add(target, slots: 1);

        using var lease = await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(target, lease.Target);
    }

    [Fact]
    public void TheLeastBusyInstanceIsChosen()
    {
        var pool = new InstancePool();
        var busy = Target();
        var idle = Target();
        pool.Add(busy, slots: 4);
        Assert.True(pool.TryAcquire(out var onBusy));
        pool.Add(idle, slots: 4);

        Assert.True(pool.TryAcquire(out var next));
        Assert.Equal(idle, next.Target);
        Assert.Equal(busy, onBusy.Target);
    }

    [Fact]
    public async Task ACancelledWaitLeavesTheQueue()
    {
        var pool = new InstancePool();
        using var cts = new CancellationTokenSource();
        var waiting = pool.AcquireAsync(cts.Token);
        Assert.Equal(1, pool.QueueDepth);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.AsTask());
        Assert.Equal(0, pool.QueueDepth);
    }

    [Fact]
    public async Task ClosingThePoolFailsWaitersAndRefusesNewRequests()
    {
        var pool = new InstancePool();
        var waiting = pool.AcquireAsync(CancellationToken.None);

        pool.Close(new InstancePoolClosedException("undeployed"));

        var failure = await Assert.ThrowsAsync<InstancePoolClosedException>(() => waiting.AsTask());
        Assert.Equal("undeployed", failure.Message);
        await Assert.ThrowsAsync<InstancePoolClosedException>(() => pool.AcquireAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public void ARemovedInstanceTakesNoNewRequestsButItsLeasesStillRelease()
    {
        var pool = new InstancePool();
        var target = Target();
        pool.Add(target, slots: 1);
        Assert.True(pool.TryAcquire(out var lease));

        pool.Remove(target.InstanceId);
        lease.Dispose();

        Assert.False(pool.TryAcquire(out _));
        Assert.Equal(0, pool.InFlight);
    }

    private static InstanceTarget Target() => new(Guid.NewGuid(), new Uri("http://127.0.0.1:1"), "local", "local", InstanceFolders.For(Path.GetTempPath(), Guid.NewGuid()));
}
