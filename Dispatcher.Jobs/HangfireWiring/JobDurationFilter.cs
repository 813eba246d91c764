using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatcher.Jobs.Campaigns;
using Hangfire.Server;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>How long each Hangfire job of this instance ran (dispatcher_job_duration_seconds{job_type, outcome}).</summary>
public sealed class JobDurationFilter : IServerFilter
{
    private const string StartedKey = "dispatcher.started";
    private readonly Histogram<double> _duration;

    public JobDurationFilter(IMeterFactory meters) =>
        _duration = meters.Create(DialMetrics.MeterName).CreateHistogram<double>("job_duration_seconds", "s", "How long Hangfire jobs ran");

    public void OnPerforming(PerformingContext context) => context.Items[StartedKey] = Stopwatch.GetTimestamp();

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(StartedKey, out var started) && started is long timestamp)
            _duration.Record(Stopwatch.GetElapsedTime(timestamp).TotalSeconds,
                new KeyValuePair<string, object?>("job_type", context.BackgroundJob.Job.Type.Name),
                new KeyValuePair<string, object?>("outcome", context.Exception is null ? "succeeded" : "failed"));
    }
}
