using Dispatcher.Jobs.HangfireWiring;
using Hangfire;
using Prometheus;

namespace Dispatcher.Web.Metrics;

/// <summary>
/// dispatcher_jobs{queue, state}: Hangfire's jobs by queue and state, a prometheus-net gauge
/// refreshed before each scrape. Hangfire keeps queues for enqueued jobs only: the other states
/// are published under queue "all". Read through the dashboard's monitoring API, which counts
/// through indexes instead of grouping the whole job table on every scrape.
/// </summary>
public sealed class JobStateGauge
{
    private readonly JobStorage _storage;
    private readonly ILogger<JobStateGauge> _logger;
    private readonly Gauge _jobs;
    private HashSet<(string Queue, string State)> _published = [];

    public JobStateGauge(PrometheusMetrics metrics, DashboardJobStorage storage, ILogger<JobStateGauge> logger)
    {
        _storage = storage;
        _logger = logger;
        _jobs = Prometheus.Metrics.WithCustomRegistry(metrics.Registry).CreateGauge("dispatcher_jobs", "Jobs by queue and state", "queue", "state");
        metrics.Registry.AddBeforeCollectCallback(RefreshAsync);
    }

    private Task<IReadOnlyList<JobCount>> CountsAsync(CancellationToken ct) => Task.Run<IReadOnlyList<JobCount>>(() =>
    {
        var monitoring = _storage.GetMonitoringApi();
        var statistics = monitoring.GetStatistics();
        var counts = monitoring.Queues().Select(q => new JobCount(q.Name, "enqueued", q.Length)).ToList();
        counts.Add(new JobCount("all", "scheduled", statistics.Scheduled));
        counts.Add(new JobCount("all", "processing", statistics.Processing));
        counts.Add(new JobCount("all", "succeeded", statistics.Succeeded));
        counts.Add(new JobCount("all", "failed", statistics.Failed));
        counts.Add(new JobCount("all", "deleted", statistics.Deleted));
        return counts;
    }, ct);

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
