using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;
using Prometheus;

namespace Dispatcher.Web.Metrics;

/// <summary>
/// dispatcher_jobs{queue, state}: jobs by queue and state, a prometheus-net gauge refreshed before
/// each scrape. The counts come from <see cref="CountsAsync"/> alone, so that pointing the gauge at
/// another source changes one method.
/// </summary>
public sealed class JobStateGauge
{
    private readonly JobMonitor _monitor;
    private readonly ILogger<JobStateGauge> _logger;
    private readonly Gauge _jobs;
    private HashSet<(string Queue, string State)> _published = [];

    public JobStateGauge(PrometheusMetrics metrics, JobMonitor monitor, ILogger<JobStateGauge> logger)
    {
        _monitor = monitor;
        _logger = logger;
        _jobs = Prometheus.Metrics.WithCustomRegistry(metrics.Registry).CreateGauge("dispatcher_jobs", "Jobs by queue and state", "queue", "state");
        metrics.Registry.AddBeforeCollectCallback(RefreshAsync);
    }

    /// <summary>The old engine's folded counters (no count(*)).</summary>
    private async Task<IReadOnlyList<JobCount>> CountsAsync(CancellationToken ct) =>
        (await _monitor.CountsAsync(ct)).ByQueue.Select(c => new JobCount(c.Queue, c.State.ToDb(), c.Count)).ToList();

    private async Task RefreshAsync(CancellationToken ct)
    {
        IReadOnlyList<JobCount> counts;
        try { counts = await CountsAsync(ct); }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            _logger.LogWarning("Job counts are stale on /metrics: {Error}", ex.Message); // the other metrics still answer
            return;
        }
        var published = new HashSet<(string Queue, string State)>();
        foreach (var count in counts)
        {
            _jobs.WithLabels(count.Queue, count.State).Set(count.Count);
            published.Add((count.Queue, count.State));
        }
        foreach (var (queue, state) in _published.Except(published)) _jobs.RemoveLabelled(queue, state);
        _published = published;
    }

    private sealed record JobCount(string Queue, string State, long Count);
}
