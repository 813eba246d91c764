using Microsoft.Extensions.Time.Testing;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Testing;

namespace Dispatcher.Tests.Hangfire;

/// <summary>The dashboard's succeeded count: counted on the first read, then at most seconds old, recounted without a reader waiting.</summary>
public sealed class DashboardRecentCountTests
{
    [Fact]
    public async Task Answers_the_last_count_and_recounts_in_the_background_once_it_is_too_old()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var count = new RecentCount(TimeSpan.FromSeconds(10), clock);
        var counted = 0;
        long Count() => Interlocked.Increment(ref counted) * 100;

        Assert.Equal(100, count.Get(Count));
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(100, count.Get(Count));
        Assert.Equal(1, counted);

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(100, count.Get(Count)); // the stale count, while the recount runs
        await Eventually.That(() => count.Get(Count) == 200, "the background recount landed");
        Assert.Equal(2, counted);
    }
}
