using System.Collections.Concurrent;

namespace Dispatcher.Queue.Workers;

/// <summary>The wake-up signal of each queue's producer in this process.</summary>
internal sealed class QueueWakeups
{
    private readonly ConcurrentDictionary<string, AsyncSignal> _signals = new();

    public AsyncSignal For(string queue) => _signals.GetOrAdd(queue, _ => new AsyncSignal());

    public void Wake(string queue)
    {
        if (_signals.TryGetValue(queue, out var signal)) signal.Set();
    }

    public void WakeAll()
    {
        foreach (var signal in _signals.Values) signal.Set();
    }

    /// <summary>
    /// Wakes this process's stager (when it leads) because a job was scheduled to run soon,
    /// e.g. a snooze until a batch's next dial slot; it then sleeps until exactly that time.
    /// </summary>
    public AsyncSignal Stager { get; } = new();
}
