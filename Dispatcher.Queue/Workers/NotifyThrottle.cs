using System.Collections.Concurrent;

namespace Dispatcher.Queue.Workers;

/// <summary>
/// Debounces NOTIFY per queue: NOTIFY takes a global lock at commit, so a burst of enqueues sends
/// one. Producers re-check once a cool-down after each wake-up, which covers the jobs whose
/// notification was skipped.
/// </summary>
internal sealed class NotifyThrottle(QueueOptions options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, long> _lastSent = new();
    private readonly long _cooldownTicks = (long)(options.NotifyCooldown.TotalSeconds * clock.TimestampFrequency);

    public bool ShouldNotify(string queue)
    {
        if (!options.UseListenNotify) return false;
        var now = clock.GetTimestamp();
        while (true)
        {
            if (!_lastSent.TryGetValue(queue, out var last))
            {
                if (_lastSent.TryAdd(queue, now)) return true;
                continue;
            }
            if (now - last < _cooldownTicks) return false;
            if (_lastSent.TryUpdate(queue, now, last)) return true;
        }
    }
}
