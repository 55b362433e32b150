using System.Collections.Concurrent;
using System.Globalization;
using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Routing;

/// <summary>
/// A deployed version's <c>rateLimit</c>, enforced as the cloud does (docs/nvcf-contract.md#rate-limits).
/// <list type="bullet">
/// <item>Counting, as NVIDIA's rate-limiter service: every rate of a rate string (<c>"5-S,300-H"</c>) is a fixed
/// window that opens with the first request it sees and lasts its period; every checked request counts, refused ones
/// too; a rate is exceeded once its count passes the limit. Two tiers: the caller's own (<c>perUserRate</c>, one
/// counter per caller), then the account's (<c>perNcaIdRate</c> for the caller's account, else <c>rateLimit</c>
/// unless the account is in <c>exemptedNcaIds</c>). Every rate of a tier counts; a tier that refuses stops the
/// check, so the tiers after it are not charged.</item>
/// <item>Deciding, as the invocation service and the gRPC proxy: with <c>syncCheck</c> the outcome decides the
/// request. Without it the request goes through while the check runs beside it, and a refusal only marks the caller
/// for 60 s, during which its requests are checked first and refused while the limit holds: the request that crosses
/// the limit still goes through, the ones after it get 429.</item>
/// </list>
/// Lock-free: a window is one object swapped in when the period ends, its count an interlocked increment.
/// </summary>
public sealed class VersionRateLimiter
{
    /// <summary>How long the invocation service checks a caller synchronously after a refusal (its cache's time to live).</summary>
    private static readonly TimeSpan LimitedFlagLifetime = TimeSpan.FromSeconds(60);

    private readonly TimeProvider _time;
    private readonly long _flagTicks;
    private readonly ConcurrentDictionary<string, AccountTier> _accounts = new(StringComparer.Ordinal);
    private readonly RateSpec[] _perCaller;
    private readonly ConcurrentDictionary<string, RateWindow[]> _callers;
    private readonly ConcurrentDictionary<string, long> _limitedUntil;

    private VersionRateLimiter(RateLimit definition, VersionRateLimiter? previous, TimeProvider time)
    {
        Definition = definition;
        _time = time;
        _flagTicks = ToTicks(LimitedFlagLifetime, time);
        SyncCheck = definition.SyncCheck;
        foreach (var (ncaId, tier) in previous?._accounts ?? [])
        {
            _accounts[ncaId] = NewTier(ncaId, tier);
        }

        _perCaller = RateSpec.Parse(definition.PerUserRate);
        _callers = previous is not null && previous._perCaller.SequenceEqual(_perCaller) ? previous._callers : new(StringComparer.Ordinal);
        _limitedUntil = previous?._limitedUntil ?? new(StringComparer.Ordinal);
    }

    /// <summary>The limit as set on the version.</summary>
    public RateLimit Definition { get; }

    public bool SyncCheck { get; }

    /// <summary>
    /// The limiter for <paramref name="limit"/>, or null when there is none. Counters of rates that
    /// <paramref name="previous"/> had too carry on, as the cloud keys them by the rate's text; callers it refused
    /// lately stay marked.
    /// </summary>
    public static VersionRateLimiter? Create(RateLimit? limit, VersionRateLimiter? previous = null, TimeProvider? time = null) =>
        limit is null ? null : new VersionRateLimiter(limit, previous, time ?? TimeProvider.System);

    /// <summary>
    /// Counts one request of <paramref name="caller"/> (an opaque identity: its credential) of account
    /// <paramref name="ncaId"/> and says whether it may go on; when it may not, <paramref name="refusal"/> says which
    /// rate refused it and when it may try again.
    /// </summary>
    public bool TryAdmit(string caller, string ncaId, out RateRefusal refusal)
    {
        var now = _time.GetTimestamp();
        var checkedFirst = SyncCheck || (_limitedUntil.TryGetValue(caller, out var until) && now < until);
        if (!Exceeded(caller, ncaId, now, out refusal))
        {
            return true;
        }

        _limitedUntil[caller] = now + _flagTicks;
        return !checkedFirst;
    }

    private bool Exceeded(string caller, string ncaId, long now, out RateRefusal refusal)
    {
        if (_perCaller.Length > 0)
        {
            var windows = _callers.GetOrAdd(caller, static (_, state) => [.. state.Specs.Select(s => new RateWindow(s, state.Time))], (Specs: _perCaller, Time: _time));
            if (Exceeded(windows, now, out refusal))
            {
                refusal = refusal with { Rate = Definition.PerUserRate!, PerCaller = true };
                return true;
            }
        }

        var account = _accounts.TryGetValue(ncaId, out var tier) ? tier : _accounts.GetOrAdd(ncaId, static (id, self) => self.NewTier(id, null), this);
        if (account.Windows.Length > 0 && Exceeded(account.Windows, now, out refusal))
        {
            refusal = refusal with { Rate = account.Rate! };
            return true;
        }

        refusal = default;
        return false;
    }

    /// <summary>Counts the request in every window of one tier; exceeded when any of them is.</summary>
    private bool Exceeded(RateWindow[] windows, long now, out RateRefusal refusal)
    {
        var resetAt = long.MinValue;
        foreach (var window in windows)
        {
            var (count, end) = window.Hit(now);
            if (count > window.Spec.Limit)
            {
                // A window opened by a request that read the clock after this one ends at most one period from now.
                resetAt = Math.Max(resetAt, Math.Min(end, now + window.Period));
            }
        }

        if (resetAt == long.MinValue)
        {
            refusal = default;
            return false;
        }

        refusal = new RateRefusal(string.Empty, false, _time.GetElapsedTime(now, resetAt));
        return true;
    }

    /// <summary>
    /// The account tier of account <paramref name="ncaId"/>: its own <c>perNcaIdRate</c>, else the global
    /// <c>rateLimit</c> unless it is exempted, counted per account; windows of <paramref name="previous"/> with the same
    /// rate carry on.
    /// </summary>
    private AccountTier NewTier(string ncaId, AccountTier? previous)
    {
        var rate = Definition.PerNcaIdRate?.GetValueOrDefault(ncaId)
            ?? (Definition.ExemptedNcaIds?.Contains(ncaId) == true ? null : Definition.Limit);
        return new AccountTier(rate, [.. RateSpec.Parse(rate).Select(spec =>
            previous?.Windows.FirstOrDefault(w => w.Spec == spec) ?? new RateWindow(spec, _time))]);
    }

    private sealed record AccountTier(string? Rate, RateWindow[] Windows);

    private static long ToTicks(TimeSpan span, TimeProvider time) => (long)(span.TotalSeconds * time.TimestampFrequency);

    /// <summary>One rate of a rate string: <c>Limit</c> requests per <c>Period</c>.</summary>
    internal readonly record struct RateSpec(long Limit, TimeSpan Period)
    {
        /// <summary>
        /// <c>"5-S,300-H"</c> as the rate-limiter service reads it: comma-separated <c>count-unit</c> (S, M, H, D),
        /// malformed parts skipped, and of two rates with the same unit the stricter kept.
        /// </summary>
        public static RateSpec[] Parse(string? rates)
        {
            if (string.IsNullOrWhiteSpace(rates))
            {
                return [];
            }

            var byPeriod = new Dictionary<TimeSpan, long>();
            foreach (var part in rates.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var dash = part.IndexOf('-', StringComparison.Ordinal);
                if (dash <= 0 || dash != part.Length - 2
                    || !long.TryParse(part.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit <= 0)
                {
                    continue;
                }

                TimeSpan? period = char.ToUpperInvariant(part[^1]) switch
                {
                    'S' => TimeSpan.FromSeconds(1),
                    'M' => TimeSpan.FromMinutes(1),
                    'H' => TimeSpan.FromHours(1),
                    'D' => TimeSpan.FromDays(1),
                    _ => null,
                };
                if (period is { } p)
                {
                    byPeriod[p] = byPeriod.TryGetValue(p, out var other) ? Math.Min(other, limit) : limit;
                }
            }

            return [.. byPeriod.OrderBy(r => r.Key).Select(r => new RateSpec(r.Value, r.Key))];
        }

        public override string ToString() => $"{Limit}-{Period.TotalSeconds switch { 1 => "S", 60 => "M", 3600 => "H", _ => "D" }}";
    }

    /// <summary>A fixed window: it opens with the first request after the last one ended and counts every request in it.</summary>
    private sealed class RateWindow(RateSpec spec, TimeProvider time)
    {
        private Span? _current;

        public RateSpec Spec { get; } = spec;

        /// <summary>The window's length in timestamp ticks.</summary>
        public long Period { get; } = ToTicks(spec.Period, time);

        /// <summary>Counts one request at <paramref name="now"/>; returns the window's count with it and when it ends.</summary>
        public (long Count, long End) Hit(long now)
        {
            while (true)
            {
                var current = Volatile.Read(ref _current);
                if (current is not null && now < current.End)
                {
                    return (Interlocked.Increment(ref current.Count), current.End);
                }

                var opened = new Span(now + Period);
                if (Interlocked.CompareExchange(ref _current, opened, current) == current)
                {
                    return (1, opened.End);
                }
            }
        }

        private sealed class Span(long end)
        {
            public readonly long End = end;
            public long Count = 1;
        }
    }
}

/// <summary>Why a request was refused: the rate string that refused it, whether it is the per-caller one, and when to retry.</summary>
public readonly record struct RateRefusal(string Rate, bool PerCaller, TimeSpan RetryAfter)
{
    /// <summary>Whole seconds until the refusing window ends, at least 1 (for <c>Retry-After</c>).</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
}
