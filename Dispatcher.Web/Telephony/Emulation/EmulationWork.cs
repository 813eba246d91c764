using System.Collections.Concurrent;

namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// The background work an emulated provider starts (call lifecycles, webhook and callback
/// deliveries), which stopping cancels and waits for.
/// </summary>
public sealed class EmulationWork : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<int, Task> _background = new();

    /// <summary>Cancelled when the emulation stops: pending waits and deliveries end.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Background tasks not yet finished.</summary>
    public int Pending => _background.Count;

    /// <summary>Keeps <paramref name="task"/> until it finishes, so stopping can wait for it.</summary>
    public void Track(Task task)
    {
        _background[task.Id] = task;
        task.ContinueWith(t => _background.TryRemove(t.Id, out _), TaskScheduler.Default);
    }

    /// <summary>
    /// Holds a request for <paramref name="duration"/> (a hanging provider). The client may give up
    /// meanwhile: the server side goes on regardless, as a real one would. False, with the connection
    /// aborted, when the emulation is stopping.
    /// </summary>
    public async Task<bool> HoldAsync(HttpContext context, TimeSpan duration, TimeProvider clock)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, Stopping);
        try
        {
            await Task.Delay(duration, clock, waiting.Token);
        }
        catch (OperationCanceledException)
        {
            // The client gave up, or the emulation stops.
        }
        if (!Stopping.IsCancellationRequested) return true;
        context.Abort();
        return false;
    }

    public void Stop()
    {
        try { _stopping.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        Stop();
        try
        {
            await Task.WhenAll(_background.Values);
        }
        catch (OperationCanceledException)
        {
            // Pending work was cancelled on purpose.
        }
        _stopping.Dispose();
    }
}
