using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Tests.Unit;

public class FunctionRouterTests
{
    private static readonly Guid FunctionId = Guid.NewGuid();

    [Fact]
    public void InvocationsByFunctionIdSpreadUniformlyOverEveryInvocableVersion()
    {
        var router = new FunctionRouter();
        var versions = Enumerable.Range(0, 3).Select(_ => Route(FunctionStatus.Active)).ToList();
        versions.Add(Route(FunctionStatus.Degrading));
        versions.Add(Route(FunctionStatus.Deploying));
        versions.ForEach(router.Publish);

        var counts = new Dictionary<Guid, int>();
        for (var i = 0; i < 40_000; i++)
        {
            var chosen = router.Select(FunctionId, null, "nca").Route!.Version.VersionId;
            counts[chosen] = counts.GetValueOrDefault(chosen) + 1;
        }

        Assert.Equal(4, counts.Count);
        Assert.DoesNotContain(versions[4].Version.VersionId, counts.Keys);
        Assert.All(counts.Values, c => Assert.InRange(c, 9_000, 11_000));
    }

    [Fact]
    public void APinnedVersionIsTheOnlyOneChosen()
    {
        var router = new FunctionRouter();
        var a = Route(FunctionStatus.Active);
        var b = Route(FunctionStatus.Active);
        router.Publish(a);
        router.Publish(b);

        for (var i = 0; i < 100; i++)
        {
            Assert.Same(b, router.Select(FunctionId, b.Version.VersionId, "nca").Route);
        }
    }

    [Fact]
    public void AVersionThatIsNotInvocableIsNotFound()
    {
        var router = new FunctionRouter();
        var deploying = Route(FunctionStatus.Deploying);
        router.Publish(deploying);

        Assert.Equal(RouteFailure.NotFound, router.Select(FunctionId, null, "nca").Failure);
        Assert.Equal(RouteFailure.NotFound, router.Select(Guid.NewGuid(), null, "nca").Failure);
    }

    [Fact]
    public void OnlyDegradedVersionsGiveTheDegradedAnswer()
    {
        var router = new FunctionRouter();
        router.Publish(Route(FunctionStatus.Degraded));
        Assert.Equal(RouteFailure.Degraded, router.Select(FunctionId, null, "nca").Failure);
    }

    [Fact]
    public void AWithdrawnVersionIsNoLongerChosen()
    {
        var router = new FunctionRouter();
        var a = Route(FunctionStatus.Active);
        var b = Route(FunctionStatus.Active);
        router.Publish(a);
        router.Publish(b);
        router.Withdraw(FunctionId, a.Version.VersionId);

        for (var i = 0; i < 100; i++)
        {
            Assert.Same(b, router.Select(FunctionId, null, "nca").Route);
        }

        router.Withdraw(FunctionId, b.Version.VersionId);
        Assert.Equal(RouteFailure.NotFound, router.Select(FunctionId, null, "nca").Failure);
    }

    [Fact]
    public void AnotherAccountReachesOnlyTheVersionsSharedWithItAndLosesThemWhenTheSharingEnds()
    {
        var router = new FunctionRouter();
        var shared = new VersionRoute(Route(FunctionStatus.Active).Version with { VersionAuthorizedAccounts = ["other"] }) { Status = FunctionStatus.Active };
        var own = Route(FunctionStatus.Active);
        router.Publish(shared);
        router.Publish(own);

        for (var i = 0; i < 50; i++)
        {
            Assert.Same(shared, router.Select(FunctionId, null, "other").Route);
        }

        Assert.Equal(RouteFailure.NotFound, router.Select(FunctionId, own.Version.VersionId, "other").Failure);
        Assert.Equal(RouteFailure.NotFound, router.Select(FunctionId, null, "stranger").Failure);
        Assert.NotNull(router.Select(FunctionId, own.Version.VersionId, "nca").Route);

        shared.ShareWith([]);
        Assert.Equal(RouteFailure.NotFound, router.Select(FunctionId, null, "other").Failure);
        own.ShareWith(["other"]);
        Assert.Same(own, router.Select(FunctionId, null, "other").Route);
    }

    internal static VersionRoute Route(FunctionStatus status, Guid? functionId = null) => new(new FunctionVersion
    {
        Id = functionId ?? FunctionId,
        VersionId = Guid.NewGuid(),
        NcaId = "nca",
        Name = "f",
        Description = "f",
        InferenceUrl = "/echo",
        Health = HealthCheck.Default("/echo", null, null),
        CreatedAt = DateTime.UtcNow,
    })
    { Status = status };
}
