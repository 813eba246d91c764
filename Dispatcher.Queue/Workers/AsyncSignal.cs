namespace Dispatcher.Queue.Workers;

/// <summary>An auto-reset event for async code: Set wakes the next (or current) waiter once.</summary>
internal sealed class AsyncSignal
{
    private TaskCompletionSource _source = NewSource();

    public void Set() => Volatile.Read(ref _source).TrySetResult();

    /// <summary>True when signalled, false on timeout.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider clock, CancellationToken ct)
    {
        var source = Volatile.Read(ref _source);
        if (!source.Task.IsCompleted)
        {
            try { await source.Task.WaitAsync(timeout, clock, ct); }
            catch (TimeoutException) { return false; }
        }
        // Reset. A Set racing with this is absorbed, which is harmless: the waiter acts next anyway.
        Interlocked.CompareExchange(ref _source, NewSource(), source);
        return true;
    }

    public Task WaitAsync(CancellationToken ct) => WaitAsync(Timeout.InfiniteTimeSpan, TimeProvider.System, ct);

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
