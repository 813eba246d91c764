using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using Npgsql;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Hangfire.PostgreSql's monitoring API with two of its queries replaced, for a dashboard over a
/// million jobs (measured with `Dispatcher.Bench dashboard`):
/// - the job lists page by job id first and join the state for the page's rows only; Hangfire.PostgreSql
///   joins the state of every row it skips, so the last page of 900,000 succeeded jobs took 1.7 s;
/// - the statistics every page shows count only the states they show (enqueued, scheduled, processing,
///   failed), each through the state-name index, instead of grouping the whole job table (90 ms on every page);
/// - the count of succeeded jobs, which only sizes the Succeeded list's pager, may be seconds old
///   (<see cref="RecentCount"/>): counting 900,000 index entries took 150-300 ms on every visit.
/// Everything else is Hangfire.PostgreSql's.
/// </summary>
public sealed class DashboardMonitoringApi(IMonitoringApi inner, NpgsqlDataSource dataSource, string schema, RecentCount succeeded) : IMonitoringApi
{
    public StatisticsDto GetStatistics()
    {
        using var command = dataSource.CreateCommand($"""
            SELECT (SELECT count(*) FROM "{schema}".job WHERE statename = 'Enqueued'),
                   (SELECT count(*) FROM "{schema}".job WHERE statename = 'Failed'),
                   (SELECT count(*) FROM "{schema}".job WHERE statename = 'Processing'),
                   (SELECT count(*) FROM "{schema}".job WHERE statename = 'Scheduled'),
                   (SELECT count(*) FROM "{schema}".server),
                   (SELECT coalesce(sum(value), 0) FROM (SELECT value FROM "{schema}".counter WHERE key = 'stats:succeeded'
                                                         UNION ALL SELECT value FROM "{schema}".aggregatedcounter WHERE key = 'stats:succeeded') c)::bigint,
                   (SELECT coalesce(sum(value), 0) FROM (SELECT value FROM "{schema}".counter WHERE key = 'stats:deleted'
                                                         UNION ALL SELECT value FROM "{schema}".aggregatedcounter WHERE key = 'stats:deleted') c)::bigint,
                   (SELECT count(*) FROM "{schema}".set WHERE key = 'recurring-jobs'),
                   (SELECT count(DISTINCT queue) FROM "{schema}".jobqueue)
            """);
        using var reader = command.ExecuteReader();
        reader.Read();
        return new StatisticsDto
        {
            Enqueued = reader.GetInt64(0),
            Failed = reader.GetInt64(1),
            Processing = reader.GetInt64(2),
            Scheduled = reader.GetInt64(3),
            Servers = reader.GetInt64(4),
            Succeeded = reader.GetInt64(5),
            Deleted = reader.GetInt64(6),
            Recurring = reader.GetInt64(7),
            Queues = reader.GetInt64(8),
        };
    }

    public JobList<SucceededJobDto> SucceededJobs(int from, int count) => Page(SucceededState.StateName, from, count, (row, data) => new SucceededJobDto
    {
        Job = row.Job,
        LoadException = row.LoadException,
        InvocationData = row.InvocationData,
        InSucceededState = row.InState,
        StateData = data,
        Result = data?.GetValueOrDefault("Result"),
        TotalDuration = long.TryParse(data?.GetValueOrDefault("PerformanceDuration"), out var duration) && long.TryParse(data?.GetValueOrDefault("Latency"), out var latency)
            ? duration + latency
            : null,
        SucceededAt = JobHelper.DeserializeNullableDateTime(data?.GetValueOrDefault("SucceededAt")),
    });

    public JobList<FailedJobDto> FailedJobs(int from, int count) => Page(FailedState.StateName, from, count, (row, data) => new FailedJobDto
    {
        Job = row.Job,
        LoadException = row.LoadException,
        InvocationData = row.InvocationData,
        InFailedState = row.InState,
        StateData = data,
        Reason = row.Reason,
        ExceptionDetails = data?.GetValueOrDefault("ExceptionDetails"),
        ExceptionMessage = data?.GetValueOrDefault("ExceptionMessage"),
        ExceptionType = data?.GetValueOrDefault("ExceptionType"),
        FailedAt = JobHelper.DeserializeNullableDateTime(data?.GetValueOrDefault("FailedAt")),
    });

    public JobList<ProcessingJobDto> ProcessingJobs(int from, int count) => Page(ProcessingState.StateName, from, count, (row, data) => new ProcessingJobDto
    {
        Job = row.Job,
        LoadException = row.LoadException,
        InvocationData = row.InvocationData,
        InProcessingState = row.InState,
        StateData = data,
        ServerId = data?.GetValueOrDefault("ServerId") ?? data?.GetValueOrDefault("ServerName"),
        StartedAt = JobHelper.DeserializeNullableDateTime(data?.GetValueOrDefault("StartedAt")),
    });

    public JobList<ScheduledJobDto> ScheduledJobs(int from, int count) => Page(ScheduledState.StateName, from, count, (row, data) => new ScheduledJobDto
    {
        Job = row.Job,
        LoadException = row.LoadException,
        InvocationData = row.InvocationData,
        InScheduledState = row.InState,
        StateData = data,
        EnqueueAt = JobHelper.DeserializeNullableDateTime(data?.GetValueOrDefault("EnqueueAt")) ?? default,
        ScheduledAt = JobHelper.DeserializeNullableDateTime(data?.GetValueOrDefault("ScheduledAt")),
    });

    public JobList<DeletedJobDto> DeletedJobs(int from, int count) => Page(DeletedState.StateName, from, count, (row, data) => new DeletedJobDto
    {
        Job = row.Job,
        LoadException = row.LoadException,
        InvocationData = row.InvocationData,
        InDeletedState = row.InState,
        StateData = data,
        DeletedAt = JobHelper.DeserializeNullableDateTime(data?.GetValueOrDefault("DeletedAt")),
    });

    public long SucceededListCount() => succeeded.Get(inner.SucceededListCount);

    // Counts by one state name go through Hangfire.PostgreSql's index on it already; the rest is its own too.
    public long ScheduledCount() => inner.ScheduledCount();
    public long EnqueuedCount(string queue) => inner.EnqueuedCount(queue);
    public long FetchedCount(string queue) => inner.FetchedCount(queue);
    public long FailedCount() => inner.FailedCount();
    public long ProcessingCount() => inner.ProcessingCount();
    public long DeletedListCount() => inner.DeletedListCount();
    public IList<QueueWithTopEnqueuedJobsDto> Queues() => inner.Queues();
    public IList<ServerDto> Servers() => inner.Servers();
    public JobDetailsDto JobDetails(string jobId) => inner.JobDetails(jobId);
    public JobList<EnqueuedJobDto> EnqueuedJobs(string queue, int from, int perPage) => inner.EnqueuedJobs(queue, from, perPage);
    public JobList<FetchedJobDto> FetchedJobs(string queue, int from, int perPage) => inner.FetchedJobs(queue, from, perPage);
    public IDictionary<DateTime, long> SucceededByDatesCount() => inner.SucceededByDatesCount();
    public IDictionary<DateTime, long> FailedByDatesCount() => inner.FailedByDatesCount();
    public IDictionary<DateTime, long> HourlySucceededJobs() => inner.HourlySucceededJobs();
    public IDictionary<DateTime, long> HourlyFailedJobs() => inner.HourlyFailedJobs();

    /// <summary>A job of a list page, with its current state's reason; InState is false when it left the listed state meanwhile.</summary>
    private sealed record ListedJob(Job? Job, JobLoadException? LoadException, InvocationData? InvocationData, bool InState, string? Reason);

    /// <summary>
    /// Jobs in <paramref name="state"/>, newest first: the page's ids are found on the job table
    /// alone (the offset skips index entries, not joined rows), then only they are joined to their state.
    /// </summary>
    private JobList<T> Page<T>(string state, int from, int count, Func<ListedJob, Dictionary<string, string>?, T> dto)
    {
        using var command = dataSource.CreateCommand($"""
            SELECT j.id, j.invocationdata::text, j.arguments::text, j.statename, s.reason, s.data::text
            FROM (SELECT id FROM "{schema}".job WHERE statename = $1 ORDER BY id DESC LIMIT $2 OFFSET $3) page
            JOIN "{schema}".job j ON j.id = page.id
            LEFT JOIN "{schema}".state s ON s.id = j.stateid
            ORDER BY j.id DESC
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = state });
        command.Parameters.Add(new NpgsqlParameter { Value = Math.Max(count, 0) });
        command.Parameters.Add(new NpgsqlParameter { Value = Math.Max(from, 0) });
        using var reader = command.ExecuteReader();
        var jobs = new List<KeyValuePair<string, T>>();
        while (reader.Read())
        {
            var id = reader.GetInt64(0).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var (job, loadException, invocation) = Deserialize(reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
            var data = reader.IsDBNull(5) ? null : SerializationHelper.Deserialize<Dictionary<string, string>>(reader.GetString(5));
            var listed = new ListedJob(job, loadException, invocation, reader.IsDBNull(3) ? false : reader.GetString(3) == state, reader.IsDBNull(4) ? null : reader.GetString(4));
            jobs.Add(KeyValuePair.Create(id, dto(listed, data is null ? null : new Dictionary<string, string>(data, StringComparer.OrdinalIgnoreCase))));
        }
        return new JobList<T>(jobs);
    }

    /// <summary>The job as Hangfire stores it (invocation data without arguments, arguments apart); a job whose type or method is gone keeps its load exception, as Hangfire shows it.</summary>
    private static (Job? Job, JobLoadException? LoadException, InvocationData? Invocation) Deserialize(string invocationData, string? arguments)
    {
        var invocation = InvocationData.DeserializePayload(invocationData);
        if (arguments is not null) invocation.Arguments = arguments;
        try
        {
            return (invocation.DeserializeJob(), null, invocation);
        }
        catch (JobLoadException ex)
        {
            return (null, ex, invocation);
        }
    }
}
