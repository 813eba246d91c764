using System.Diagnostics.Metrics;

namespace Dispatcher.Queue;

/// <summary>
/// The engine's instruments (meter "Dispatcher", which prometheus-net's meter adapter prefixes to
/// each instrument's name: dispatcher_job_duration_seconds), plus plain totals the benchmark reads
/// when pg_stat_statements is not loaded.
/// </summary>
public sealed class QueueMetrics : IDisposable
{
    public const string MeterName = "Dispatcher";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _finished;
    private readonly Histogram<double> _duration;
    private long _statements;
    private long _claimed;

    /// <summary>From the host's <paramref name="meters"/> when there is one, so that an exporter can tell this instance's measurements from another's in the same process.</summary>
    public QueueMetrics(IMeterFactory? meters = null)
    {
        _ownsMeter = meters is null;
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _finished = _meter.CreateCounter<long>("jobs_finished_total", description: "Job attempts finished, by outcome state");
        _duration = _meter.CreateHistogram<double>("job_duration_seconds", "s", "How long handlers ran");
        _meter.CreateObservableCounter("jobs_claimed_total", () => Interlocked.Read(ref _claimed), description: "Jobs claimed by this instance");
    }

    /// <summary>SQL statements the engine's work loop sent (claims and completions).</summary>
    public long Statements => Interlocked.Read(ref _statements);
    public long Claimed => Interlocked.Read(ref _claimed);

    internal void Statement() => Interlocked.Increment(ref _statements);
    internal void Claim(int jobs) { Interlocked.Increment(ref _statements); Interlocked.Add(ref _claimed, jobs); }
    internal void Finished(JobState state) => _finished.Add(1, new KeyValuePair<string, object?>("state", state.ToDb()));
    internal void Ran(string kind, TimeSpan duration) => _duration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("kind", kind));

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
