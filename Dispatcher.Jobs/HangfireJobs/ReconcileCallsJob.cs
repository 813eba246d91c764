using System.ComponentModel;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>The recurring `reconcile-calls`: CallReconciler. A failed occurrence waits for the next.</summary>
public sealed class ReconcileCallsJob(CallReconciler reconciler)
{
    public const string RecurringId = "reconcile-calls";

    [Queue(HangfireSettings.DefaultQueue)]
    [DisplayName("Reconcile calls whose webhook is late, and dials of unknown outcome")]
    [AutomaticRetry(Attempts = 0)]
    public Task Run(CancellationToken cancellationToken) => reconciler.RunAsync(cancellationToken);
}
