namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// A count that may be up to <paramref name="maxAge"/> old: the first read counts, later reads
/// answer the last count and, once it is older than that, count again in the background (one
/// recount at a time), so no reader waits for a count after the first.
/// </summary>
public sealed class RecentCount(TimeSpan maxAge, TimeProvider clock)
{
    private readonly object _gate = new();
    private (long Value, DateTimeOffset At)? _last;
    private Task? _recount;

    public long Get(Func<long> count)
    {
        lock (_gate)
        {
            if (_last is { } last)
            {
                if (clock.GetUtcNow() - last.At > maxAge && _recount is null)
                    _recount = Task.Run(() => Recount(count));
                return last.Value;
            }
        }
        var value = count();
        lock (_gate) _last = (value, clock.GetUtcNow());
        return value;
    }

    private void Recount(Func<long> count)
    {
        try
        {
            var value = count();
            lock (_gate) _last = (value, clock.GetUtcNow());
        }
        catch (Exception)
        {
            // The last count stands; the next read tries again.
        }
        finally
        {
            lock (_gate) _recount = null;
        }
    }
}
