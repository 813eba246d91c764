using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Queue.Monitoring;

/// <summary>
/// What the dashboard and the REST API read and do: counts, throughput, job lists and details,
/// workers, and retry / cancel / delete of chosen jobs or of everything matching a filter.
/// Reads stay cheap at millions of jobs: counts come from the folded counters, lists page by id.
/// </summary>
public sealed class JobMonitor
{
    /// <summary>Bulk actions over a filter select and change this many jobs per statement.</summary>
    public const int BatchSize = 5_000;
    public const int MaxPageSize = 500;
    /// <summary>Most points one throughput query returns: two weeks of minutes.</summary>
    public const int MaxThroughputPoints = 20_160;

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _clock;
    private readonly MonitorSql _sql;
    private readonly string _jobsChannel;
    private readonly string _cancelChannel;

    public JobMonitor(NpgsqlDataSource dataSource, QueueOptions options, TimeProvider clock)
    {
        _dataSource = dataSource;
        _clock = clock;
        _sql = new MonitorSql(options.Schema);
        _jobsChannel = options.Channel;
        _cancelChannel = $"{options.Schema}_cancel";
    }

    public async Task<StateCounts> CountsAsync(CancellationToken ct = default)
    {
        var byState = Enum.GetValues<JobState>().ToDictionary(state => state, _ => 0L);
        var byQueue = new List<QueueCount>();
        await using var command = _dataSource.CreateCommand(_sql.Counts);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var row = new QueueCount(reader.GetString(0), JobStates.Parse(reader.GetString(1)), reader.GetInt64(2));
            byState[row.State] += row.Count;
            byQueue.Add(row);
        }
        return new StateCounts(byState, byQueue);
    }

    /// <summary>
    /// Succeeded and failed jobs per <paramref name="bucket"/> (one minute or one hour) over the
    /// <paramref name="window"/> ending now, oldest first; the last bucket is the current one, so far.
    /// </summary>
    public async Task<IReadOnlyList<ThroughputPoint>> ThroughputAsync(TimeSpan window, TimeSpan bucket, CancellationToken ct = default)
    {
        if (bucket != TimeSpan.FromMinutes(1) && bucket != TimeSpan.FromHours(1))
            throw new ArgumentException($"throughput buckets are one minute or one hour, not {bucket}", nameof(bucket));
        if (window <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(window), window, "the window must be positive");
        var points = (window.Ticks + bucket.Ticks - 1) / bucket.Ticks;
        if (points > MaxThroughputPoints)
            throw new ArgumentOutOfRangeException(nameof(window), window, $"a window of {window} has more than {MaxThroughputPoints} buckets of {bucket}");

        var now = _clock.GetUtcNow().UtcTicks;
        var last = new DateTimeOffset(now - now % bucket.Ticks, TimeSpan.Zero);
        var first = last - bucket * (points - 1);
        var succeeded = new long[points];
        var failed = new long[points];

        await using var command = _dataSource.CreateCommand(_sql.Throughput);
        command.Parameters.Add(new NpgsqlParameter { Value = first, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = last + bucket, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = bucket, NpgsqlDbType = NpgsqlDbType.Interval });
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var index = (reader.GetFieldValue<DateTimeOffset>(0) - first).Ticks / bucket.Ticks;
                var target = JobStates.Parse(reader.GetString(1)) == JobState.Completed ? succeeded : failed;
                target[index] += reader.GetInt64(2);
            }

        return Enumerable.Range(0, (int)points).Select(i => new ThroughputPoint(first + bucket * i, succeeded[i], failed[i])).ToList();
    }

    /// <summary>
    /// Up to <paramref name="limit"/> (1 to 500) jobs matching <paramref name="filter"/>, newest first,
    /// with ids below <paramref name="beforeId"/> when given.
    /// With <paramref name="scanWindow"/>, only the newest that many jobs of the filter's state
    /// (any state when none) below <paramref name="beforeId"/> are looked at for the other
    /// conditions (queue, kind, text in args), so a filter that matches few jobs costs a bounded
    /// walk per page at any table size. The page may then hold fewer than <paramref name="limit"/>
    /// jobs with <see cref="JobPage.NextBeforeId"/> set: where the search goes on.
    /// </summary>
    public Task<JobPage> ListAsync(JobFilter filter, long? beforeId, int limit, CancellationToken ct = default, int? scanWindow = null) =>
        ListAsync(filter, beforeId, newer: false, limit, scanWindow, ct);

    /// <summary>
    /// The page above an older one: up to <paramref name="limit"/> jobs matching <paramref name="filter"/> with ids
    /// just above <paramref name="afterId"/>, shown newest first like every page. <see cref="JobPage.NewerAfterId"/>
    /// is set while newer jobs remain (or, with <paramref name="scanWindow"/>, where the bounded walk upwards stopped);
    /// null means this page reaches the newest job. <see cref="JobPage.NextBeforeId"/> leads back down.
    /// </summary>
    public Task<JobPage> ListNewerAsync(JobFilter filter, long afterId, int limit, CancellationToken ct = default, int? scanWindow = null) =>
        ListAsync(filter, afterId, newer: true, limit, scanWindow, ct);

    private async Task<JobPage> ListAsync(JobFilter filter, long? from, bool newer, int limit, int? scanWindow, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        limit = Math.Clamp(limit, 1, MaxPageSize);
        if (scanWindow is < 1) throw new ArgumentOutOfRangeException(nameof(scanWindow), scanWindow, "the scan window must be positive");
        var (beforeId, afterId) = newer ? (null, from) : (from, (long?)null);
        var parameters = new List<NpgsqlParameter>();
        string sql;
        if (scanWindow is { } window)
        {
            var within = _sql.Where(new JobFilter(State: filter.State), states: null, beforeId, parameters, afterId);
            var matching = _sql.Where(filter with { State = null }, states: null, beforeId: null, parameters);
            sql = _sql.ListWithin(within, MonitorSql.Add(parameters, window, NpgsqlDbType.Integer), matching,
                MonitorSql.Add(parameters, limit + 1, NpgsqlDbType.Integer), newer);
        }
        else
        {
            var where = _sql.Where(filter, states: null, beforeId, parameters, afterId);
            // One row more than asked tells whether another page follows.
            sql = _sql.List(where, MonitorSql.Add(parameters, limit + 1, NpgsqlDbType.Integer), newer);
        }

        var jobs = new List<JobSummary>(limit + 1);
        await using (var command = _dataSource.CreateCommand(sql))
        {
            command.Parameters.AddRange(parameters.ToArray());
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                jobs.Add(ReadSummary(reader));
        }

        long? next = null; // where the walk goes on in its direction
        if (jobs.Count > limit)
        {
            jobs.RemoveAt(limit);
            next = jobs[^1].Id;
        }
        else if (scanWindow is { } scanned)
        {
            // A short page of a bounded walk: go on past the last job walked, unless the walk reached the end.
            var windowParameters = new List<NpgsqlParameter>();
            var range = _sql.Where(new JobFilter(State: filter.State), states: null, beforeId, windowParameters, afterId);
            await using var end = _dataSource.CreateCommand(_sql.WindowEnd(range, MonitorSql.Add(windowParameters, scanned, NpgsqlDbType.Integer), newer));
            end.Parameters.AddRange(windowParameters.ToArray());
            await using var endReader = await end.ExecuteReaderAsync(ct);
            await endReader.ReadAsync(ct);
            if (endReader.GetInt64(1) >= scanned) next = endReader.GetInt64(0);
        }
        if (!newer) return new JobPage(jobs, next);
        jobs.Reverse();
        return new JobPage(jobs, jobs.Count > 0 ? jobs[^1].Id : from + 1, next);
    }

    public async Task<JobDetails?> GetAsync(long id, CancellationToken ct = default)
    {
        await using var command = _dataSource.CreateCommand(_sql.Get);
        command.Parameters.Add(new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var summary = ReadSummary(reader);
        // After the summary's 14 columns: args, metadata, unique_key, errors.
        var errors = JsonSerializer.Deserialize<List<JobError>>(reader.GetString(17), JobJson.Options) ?? [];
        return new JobDetails(summary, reader.GetString(14), reader.GetString(15), reader.IsDBNull(16) ? null : reader.GetString(16), errors);
    }

    public async Task<IReadOnlyList<WorkerInfo>> WorkersAsync(CancellationToken ct = default)
    {
        var workers = new List<WorkerInfo>();
        await using var command = _dataSource.CreateCommand(_sql.Workers);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            workers.Add(new WorkerInfo(reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                JsonSerializer.Deserialize<Dictionary<string, int>>(reader.GetString(3)) ?? [],
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetInt32(6)));
        return workers;
    }

    /// <summary>
    /// Jobs that are not running (scheduled, retryable, discarded, cancelled, completed) run again
    /// now, getting one more attempt if theirs are spent. Returns how many changed.
    /// </summary>
    public async Task<int> RetryAsync(IReadOnlyCollection<long> ids, CancellationToken ct = default)
    {
        if (ids.Count == 0) return 0;
        await using var command = _dataSource.CreateCommand(_sql.Retry);
        command.Parameters.Add(Ids(ids));
        command.Parameters.Add(new NpgsqlParameter { Value = _clock.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = _jobsChannel, NpgsqlDbType = NpgsqlDbType.Text });
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Unfinished jobs (available, scheduled, retryable, running) end cancelled; the instance
    /// running one is told to stop its handler. Returns how many changed.
    /// </summary>
    public async Task<int> CancelAsync(IReadOnlyCollection<long> ids, CancellationToken ct = default)
    {
        if (ids.Count == 0) return 0;
        await using var command = _dataSource.CreateCommand(_sql.Cancel);
        command.Parameters.Add(Ids(ids));
        command.Parameters.Add(new NpgsqlParameter { Value = _clock.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = _cancelChannel, NpgsqlDbType = NpgsqlDbType.Text });
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Deletes jobs that are not running (cancel a running job first). Returns how many were deleted.</summary>
    public async Task<int> DeleteAsync(IReadOnlyCollection<long> ids, CancellationToken ct = default)
    {
        if (ids.Count == 0) return 0;
        await using var command = _dataSource.CreateCommand(_sql.Delete);
        command.Parameters.Add(Ids(ids));
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }

    public Task<int> RetryMatchingAsync(JobFilter filter, CancellationToken ct = default) =>
        ForEachBatchAsync(filter, MonitorSql.Retriable, RetryAsync, ct);

    public Task<int> CancelMatchingAsync(JobFilter filter, CancellationToken ct = default) =>
        ForEachBatchAsync(filter, MonitorSql.Unfinished, CancelAsync, ct);

    public Task<int> DeleteMatchingAsync(JobFilter filter, CancellationToken ct = default) =>
        ForEachBatchAsync(filter, MonitorSql.Deletable, DeleteAsync, ct);

    /// <summary>
    /// Walks the matching jobs the action applies to, newest first, a batch of ids at a time, so no
    /// statement runs long and jobs enqueued meanwhile (higher ids) are left alone.
    /// </summary>
    private async Task<int> ForEachBatchAsync(JobFilter filter, JobState[] applicable,
        Func<IReadOnlyCollection<long>, CancellationToken, Task<int>> action, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.State is { } state && !applicable.Contains(state)) return 0;
        var states = filter.State is null ? applicable : null;
        var total = 0;
        long? beforeId = null;
        while (true)
        {
            var parameters = new List<NpgsqlParameter>();
            var where = _sql.Where(filter, states, beforeId, parameters);
            await using var command = _dataSource.CreateCommand(_sql.MatchingIds(where, MonitorSql.Add(parameters, BatchSize, NpgsqlDbType.Integer)));
            command.Parameters.AddRange(parameters.ToArray());
            var ids = new List<long>(BatchSize);
            await using (var reader = await command.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct))
                    ids.Add(reader.GetInt64(0));
            if (ids.Count == 0) return total;
            total += await action(ids, ct);
            if (ids.Count < BatchSize) return total;
            beforeId = ids[^1];
        }
    }

    private static JobSummary ReadSummary(NpgsqlDataReader reader) => new(
        Id: reader.GetInt64(0),
        Kind: reader.GetString(1),
        Queue: reader.GetString(2),
        State: JobStates.Parse(reader.GetString(3)),
        Priority: reader.GetInt16(4),
        Attempt: reader.GetInt32(5),
        MaxAttempts: reader.GetInt32(6),
        Tags: reader.GetFieldValue<string[]>(7),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(8),
        ScheduledAt: reader.GetFieldValue<DateTimeOffset>(9),
        AttemptedAt: reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
        AttemptedBy: reader.IsDBNull(11) ? null : reader.GetString(11),
        FinalizedAt: reader.IsDBNull(12) ? null : reader.GetFieldValue<DateTimeOffset>(12),
        LastError: reader.IsDBNull(13) ? null : reader.GetString(13));

    private static NpgsqlParameter Ids(IReadOnlyCollection<long> ids) =>
        new() { Value = ids as long[] ?? ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint };
}
