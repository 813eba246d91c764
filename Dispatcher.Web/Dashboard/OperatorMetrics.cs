using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Our metrics in Hangfire's registry, served by its /stats like its own: the navigation shows
/// active batches beside "Batches", and dispatcher.js adds all four to the home page, whose metric
/// list is internal to Hangfire.
/// </summary>
public static class OperatorMetrics
{
    public static readonly DashboardMetric ActiveBatches = new("dispatcher:active-batches", "Active batches",
        page => new Metric(Counts(page).ActiveBatches) { Style = Counts(page).ActiveBatches > 0 ? MetricStyle.Info : MetricStyle.Default });

    public static readonly DashboardMetric CallsInProgress = new("dispatcher:calls-in-progress", "Calls in progress",
        page => new Metric(Counts(page).CallsInProgress) { Style = Counts(page).CallsInProgress > 0 ? MetricStyle.Warning : MetricStyle.Default });

    public static readonly DashboardMetric DialsLastMinute = new("dispatcher:dials-last-minute", "Dials in the last minute",
        page => new Metric(Counts(page).DialsLastMinute) { Style = Counts(page).DialsLastMinute > 0 ? MetricStyle.Success : MetricStyle.Default });

    public static readonly DashboardMetric FailedCallsWaiting = new("dispatcher:failed-calls-waiting", "Failed calls to requeue",
        page => new Metric(Counts(page).FailedCallsWaiting)
        {
            Style = Counts(page).FailedCallsWaiting > 0 ? MetricStyle.Danger : MetricStyle.Default,
            Highlighted = Counts(page).FailedCallsWaiting > 0,
        });

    public static IReadOnlyList<DashboardMetric> All { get; } = [ActiveBatches, CallsInProgress, DialsLastMinute, FailedCallsWaiting];

    private static OperatorCounts Counts(RazorPage page) => OperatorCounts.For(page.Context.GetHttpContext());
}
