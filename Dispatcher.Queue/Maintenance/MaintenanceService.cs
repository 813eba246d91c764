using Dispatcher.Queue.Workers;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Queue.Maintenance;

/// <summary>A periodic task the leader runs: each pass says how long to wait before the next.</summary>
internal abstract class MaintenanceService(TimeProvider clock, ILogger logger)
{
    protected TimeProvider Clock => clock;

    public string Name => GetType().Name;

    protected abstract TimeSpan Interval { get; }

    /// <summary>Set to cut a wait short, e.g. when new work is due sooner than planned.</summary>
    protected virtual AsyncSignal? Wake => null;

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
                if (wait <= TimeSpan.Zero) continue;
                if (Wake is { } wake) await wake.WaitAsync(wait, clock, ct);
                else await Task.Delay(wait, clock, ct);
            }
            catch (OperationCanceledException) { break; }
        }
    }
}
