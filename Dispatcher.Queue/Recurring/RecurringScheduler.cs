using Dispatcher.Queue.Maintenance;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Queue.Recurring;

/// <summary>The leader's recurring-job pass; sleeps until the earliest next run (at most a second).</summary>
internal sealed class RecurringScheduler(RecurringJobs recurring, QueueOptions options, TimeProvider clock, ILogger<RecurringScheduler> logger)
    : MaintenanceService(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(1);

    public override async Task<TimeSpan> RunOnceAsync(CancellationToken ct)
    {
        await recurring.EnqueueDueAsync(options.MisfireThreshold, ct);
        var next = await recurring.NextDueAsync(ct);
        if (next is null) return Interval;
        var wait = next.Value - Clock.GetUtcNow();
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > Interval ? Interval : wait;
    }
}
