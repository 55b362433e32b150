using Nvcf.Emulator.Domain;
using Nvcf.Emulator.Routing;

namespace Nvcf.Emulator.Tests.Unit;

/// <summary>The cloud's rate-limit algorithm (docs/nvcf-contract.md#rate-limits), on a clock the test moves.</summary>
public class VersionRateLimiterTests
{
    private const string Account = "local-nca-id";
    private const string Caller = "Bearer a";

    private readonly ManualClock _clock = new();

    [Fact]
    public void WithSyncCheckTheRequestsPastTheLimitAreRefusedUntilTheWindowEnds()
    {
        var limiter = Limiter(new RateLimit { Limit = "3-M", SyncCheck = true });

        Assert.Equal([true, true, true, false, false], Admit(limiter, 5));
        Assert.False(limiter.TryAdmit(Caller, Account, out var refusal));
        Assert.Equal("3-M", refusal.Rate);
        Assert.Equal(60, refusal.RetryAfterSeconds);

        _clock.Advance(TimeSpan.FromSeconds(45));
        Assert.False(limiter.TryAdmit(Caller, Account, out refusal));
        Assert.Equal(15, refusal.RetryAfterSeconds); // the window opened with the first request; refusals do not move it

        _clock.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal([true, true, true, false], Admit(limiter, 4));
    }

    [Fact]
    public void WithoutSyncCheckTheRequestThatCrossesTheLimitStillGoesThroughAndTheNextOnesAreRefused()
    {
        var limiter = Limiter(new RateLimit { Limit = "3-M" });

        Assert.Equal([true, true, true, true, false, false], Admit(limiter, 6));
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal([false], Admit(limiter, 1)); // refused 30 s into the window: the caller stays marked for 60 s from here

        // In the next window the marked caller is checked first: let through while under the limit, then refused.
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal([true, true, true, false], Admit(limiter, 4));

        // A minute after its last refusal the mark is gone: the crossing request goes through again.
        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal([true, true, true, true, false], Admit(limiter, 5));
    }

    [Fact]
    public void EveryRateOfTheStringCountsAndTheLongestRefusingWindowSetsRetryAfter()
    {
        var limiter = Limiter(new RateLimit { Limit = "2-S,3-M", SyncCheck = true });

        Assert.Equal([true, true, false], Admit(limiter, 3));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(limiter.TryAdmit(Caller, Account, out var refusal)); // 4th of the minute (the refused one counted too)
        Assert.Equal(59, refusal.RetryAfterSeconds);
    }

    [Fact]
    public void TheAccountsOwnRateReplacesTheGlobalOneAndAnExemptedAccountSkipsIt()
    {
        var own = Limiter(new RateLimit { Limit = "1-M", PerNcaIdRate = new Dictionary<string, string> { [Account] = "3-M" }, SyncCheck = true });
        Assert.Equal([true, true, true, false], Admit(own, 4));

        var other = Limiter(new RateLimit { Limit = "1-M", PerNcaIdRate = new Dictionary<string, string> { ["another-account"] = "3-M" }, SyncCheck = true });
        Assert.Equal([true, false], Admit(other, 2));

        var exempted = Limiter(new RateLimit { Limit = "1-M", ExemptedNcaIds = [Account], SyncCheck = true });
        Assert.Equal([true, true, true, true, true], Admit(exempted, 5));
    }

    [Fact]
    public void EachAccountSharingAFunctionIsCountedByItsOwnAccountTier()
    {
        var limiter = Limiter(new RateLimit
        {
            Limit = "2-M",
            PerNcaIdRate = new Dictionary<string, string> { ["generous"] = "4-M" },
            ExemptedNcaIds = ["partner"],
            SyncCheck = true,
        });

        bool Admit(string ncaId) => limiter.TryAdmit("Bearer " + ncaId, ncaId, out _);
        Assert.Equal([true, true, false], new[] { Admit(Account), Admit(Account), Admit(Account) });
        Assert.Equal([true, true, false], new[] { Admit("other"), Admit("other"), Admit("other") }); // not charged for the owner's
        Assert.Equal([true, true, true, true, false], Enumerable.Range(0, 5).Select(_ => Admit("generous")));
        Assert.All(Enumerable.Range(0, 5), _ => Assert.True(Admit("partner")));

        // A new limit carries each account's counters on for the rates it keeps.
        var raised = VersionRateLimiter.Create(limiter.Definition with { PerNcaIdRate = null }, limiter, _clock)!;
        Assert.False(raised.TryAdmit("Bearer other", "other", out _));
        Assert.True(raised.TryAdmit("Bearer generous", "generous", out _)); // its 4-M is gone; the global 2-M starts afresh
    }

    [Fact]
    public void APerCallerRateCountsEachCallerApartAndARefusalThereDoesNotChargeTheAccount()
    {
        var limiter = Limiter(new RateLimit { Limit = "3-M", PerUserRate = "1-M", SyncCheck = true });

        Assert.True(limiter.TryAdmit("Bearer a", Account, out _));
        Assert.False(limiter.TryAdmit("Bearer a", Account, out var refusal));
        Assert.True(refusal.PerCaller);
        Assert.Equal("1-M", refusal.Rate);
        Assert.False(limiter.TryAdmit("Bearer a", Account, out _));

        Assert.True(limiter.TryAdmit("Bearer b", Account, out _));
        Assert.True(limiter.TryAdmit("Bearer c", Account, out _)); // the account's 3rd: a's refusals were not charged to it
        Assert.False(limiter.TryAdmit("Bearer d", Account, out refusal));
        Assert.False(refusal.PerCaller);
        Assert.Equal("3-M", refusal.Rate);
    }

    [Fact]
    public void AReplacedLimitKeepsTheCountOfARateItKeepsAndStartsANewRateAfresh()
    {
        var first = Limiter(new RateLimit { Limit = "3-M", SyncCheck = true });
        Assert.Equal([true, true, true, false], Admit(first, 4));

        var same = VersionRateLimiter.Create(new RateLimit { Limit = "3-M,100-D", SyncCheck = true }, first, _clock)!;
        Assert.False(same.TryAdmit(Caller, Account, out _));

        var raised = VersionRateLimiter.Create(new RateLimit { Limit = "10-M", SyncCheck = true }, same, _clock)!;
        Assert.Equal([.. Enumerable.Repeat(true, 10), false], Admit(raised, 11));

        Assert.Null(VersionRateLimiter.Create(null, raised, _clock));
    }

    [Theory]
    [InlineData("100-S", "100-S")]
    [InlineData("4-S, 5-H", "4-S,5-H")]
    [InlineData("10-S, 100-M, 500-H, 1000-D", "10-S,100-M,500-H,1000-D")]
    [InlineData("5-S,4-S", "4-S")]
    [InlineData("x,2-M,0-S,3-W", "2-M")]
    public void RateStringsAreReadAsTheRateLimiterServiceReadsThem(string rates, string expected) =>
        Assert.Equal(expected, string.Join(',', VersionRateLimiter.RateSpec.Parse(rates)));

    private VersionRateLimiter Limiter(RateLimit limit) => VersionRateLimiter.Create(limit, time: _clock)!;

    private static bool[] Admit(VersionRateLimiter limiter, int count) =>
        [.. Enumerable.Range(0, count).Select(i => limiter.TryAdmit(Caller, Account, out var refusal))];

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
