using System.Diagnostics.Metrics;
using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;

namespace Dispatcher.Web.Metrics;

/// <summary>
/// dispatcher_jobs{queue, state}: the engine's job counts (folded counters, no count(*)), as an
/// observable gauge on meter "Dispatcher.Web". Observable callbacks cannot wait on the database,
/// so each scrape refreshes the counts first and the callback reports them.
/// </summary>
public sealed class JobStateGauge
{
    public const string MeterName = "Dispatcher.Web";
    private readonly JobMonitor _monitor;
    private readonly ILogger<JobStateGauge> _logger;
    private IReadOnlyList<QueueCount> _counts = [];

    public JobStateGauge(JobMonitor monitor, IMeterFactory meters, ILogger<JobStateGauge> logger)
    {
        _monitor = monitor;
        _logger = logger;
        meters.Create(MeterName).CreateObservableGauge("dispatcher_jobs", Observe, description: "Jobs by queue and state");
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        try { _counts = (await _monitor.CountsAsync(ct)).ByQueue; }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            _logger.LogWarning("Job counts are stale on /metrics: {Error}", ex.Message); // the other metrics still answer
        }
    }

    private IEnumerable<Measurement<long>> Observe() => _counts.Select(c => new Measurement<long>(c.Count,
        new KeyValuePair<string, object?>("queue", c.Queue), new KeyValuePair<string, object?>("state", c.State.ToDb())));
}
