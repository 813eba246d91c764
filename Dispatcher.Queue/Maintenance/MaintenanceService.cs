using Microsoft.Extensions.Logging;

namespace Dispatcher.Queue.Maintenance;

/// <summary>A periodic task the leader runs: each pass says how long to wait before the next.</summary>
internal abstract class MaintenanceService(TimeProvider clock, ILogger logger)
{
    protected TimeProvider Clock => clock;

    public string Name => GetType().Name;

    protected abstract TimeSpan Interval { get; }

    /// <summary>One pass; returns the wait before the next (usually <see cref="Interval"/>).</summary>
    public abstract Task<TimeSpan> RunOnceAsync(CancellationToken ct);

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await RunOnceAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "{Service} pass failed", Name);
                wait = Interval;
            }
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, clock, ct);
            }
            catch (OperationCanceledException) { break; }
        }
    }
}
