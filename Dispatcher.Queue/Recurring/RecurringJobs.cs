using System.Text.Json;
using Dispatcher.Queue.Workers;
using Npgsql;

namespace Dispatcher.Queue.Recurring;

/// <summary>The persisted recurring jobs: syncing declarations, listing, trigger now, pause and resume.</summary>
public sealed class RecurringJobs
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly JobClient _client;
    private readonly JobKindRegistry _kinds;
    private readonly IReadOnlyList<RecurringJobDeclaration> _declared;
    private readonly QueueWakeups _wakeups;
    private readonly TimeProvider _clock;
    private readonly string _s;

    internal RecurringJobs(NpgsqlDataSource dataSource, QueueOptions options, JobClient client, JobKindRegistry kinds,
        IEnumerable<RecurringJobDeclaration> declared, QueueWakeups wakeups, TimeProvider clock)
    {
        _dataSource = dataSource;
        _client = client;
        _kinds = kinds;
        _declared = declared.ToList();
        _wakeups = wakeups;
        _clock = clock;
        _s = options.Schema;
        var twice = _declared.GroupBy(d => d.Name).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new InvalidOperationException($"recurring job '{twice.Key}' is declared twice");
    }

    /// <summary>
    /// Writes the declared jobs. The schedule is kept when cron and zone are unchanged, so a
    /// restart neither skips nor repeats an occurrence; paused ones stay paused.
    /// </summary>
    public async Task SyncDeclaredAsync(CancellationToken ct)
    {
        if (_declared.Count == 0) return;
        var now = _clock.GetUtcNow();
        await using var batch = _dataSource.CreateBatch();
        foreach (var d in _declared)
        {
            var kind = _kinds.ForArgs(d.ArgsType);
            var command = new NpgsqlBatchCommand($"""
                INSERT INTO {_s}.recurring_jobs AS r (name, cron, time_zone, kind, args, queue, misfire, next_run_at, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $9)
                ON CONFLICT (name) DO UPDATE SET
                    next_run_at = CASE WHEN r.cron = excluded.cron AND r.time_zone = excluded.time_zone THEN r.next_run_at ELSE excluded.next_run_at END,
                    cron = excluded.cron, time_zone = excluded.time_zone, kind = excluded.kind, args = excluded.args,
                    queue = excluded.queue, misfire = excluded.misfire, updated_at = excluded.updated_at
                WHERE (r.cron, r.time_zone, r.kind, r.args, r.queue, r.misfire)
                      IS DISTINCT FROM (excluded.cron, excluded.time_zone, excluded.kind, excluded.args, excluded.queue, excluded.misfire)
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = d.Name });
            command.Parameters.Add(new NpgsqlParameter { Value = d.Cron.Expression });
            command.Parameters.Add(new NpgsqlParameter { Value = d.Options.TimeZone });
            command.Parameters.Add(new NpgsqlParameter { Value = kind.Name });
            command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(d.Args, d.ArgsType, JobJson.Options) });
            command.Parameters.Add(new NpgsqlParameter { Value = d.Options.Queue ?? kind.Options.Queue });
            command.Parameters.Add(new NpgsqlParameter { Value = d.Options.Misfire.ToString().ToLowerInvariant() });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)d.Cron.GetNextOccurrence(now, d.Zone) ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<RecurringJobInfo>> ListAsync(CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT r.name, r.cron, r.time_zone, r.kind, r.args::text, r.queue, r.misfire, r.paused, r.next_run_at, r.last_run_at, r.last_job_id, j.state::text
            FROM {_s}.recurring_jobs r LEFT JOIN {_s}.jobs j ON j.id = r.last_job_id
            ORDER BY r.name
            """);
        var list = new List<RecurringJobInfo>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            list.Add(new RecurringJobInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), Enum.Parse<MisfirePolicy>(reader.GetString(6), ignoreCase: true), reader.GetBoolean(7),
                reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9),
                reader.IsDBNull(10) ? null : reader.GetInt64(10),
                reader.IsDBNull(11) ? null : JobStates.Parse(reader.GetString(11))));
        return list;
    }

    /// <summary>Enqueues one run now without moving the schedule. False when no such recurring job exists.</summary>
    public async Task<long?> TriggerAsync(string name, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var row = await LockAsync(connection, tx, name, ct);
        if (row is null) return null;
        var now = _clock.GetUtcNow();
        var jobId = await EnqueueOccurrencesAsync(connection, tx, row, [now], ct);
        await UpdateRunAsync(connection, tx, name, row.NextRunAt, now, jobId, ct);
        await tx.CommitAsync(ct);
        _wakeups.Wake(row.Queue);
        return jobId;
    }

    public Task<bool> PauseAsync(string name, CancellationToken ct) => SetPausedAsync(name, true, ct);

    /// <summary>Resumes from now on: occurrences that fell in the pause are not caught up.</summary>
    public Task<bool> ResumeAsync(string name, CancellationToken ct) => SetPausedAsync(name, false, ct);

    /// <summary>Removes a recurring job that is no longer declared (Hangfire's RemoveIfExists).</summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_s}.recurring_jobs WHERE name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    private async Task<bool> SetPausedAsync(string name, bool paused, CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var row = await LockAsync(connection, tx, name, ct);
        if (row is null) return false;
        var now = _clock.GetUtcNow();
        var next = paused ? row.NextRunAt : row.Cron.GetNextOccurrence(now, row.Zone);
        await using var command = new NpgsqlCommand($"UPDATE {_s}.recurring_jobs SET paused = $2, next_run_at = $3, updated_at = $4 WHERE name = $1", connection, tx);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = paused });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)next ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        await command.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>The scheduler's pass: enqueues due occurrences of every unpaused job, each exactly once.</summary>
    internal async Task<IReadOnlyList<string>> EnqueueDueAsync(TimeSpan misfireThreshold, CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Locked rows are being handled by another instance; the re-check of next_run_at after a
        // wait is what makes a second scheduler skip an occurrence the first already enqueued.
        var due = await ReadAsync(connection, tx, $"""
            SELECT name, cron, time_zone, kind, args::text, queue, misfire, next_run_at FROM {_s}.recurring_jobs
            WHERE NOT paused AND next_run_at <= $1 ORDER BY next_run_at FOR UPDATE SKIP LOCKED
            """, now, ct);
        var queues = new List<string>();
        foreach (var row in due)
        {
            var occurrences = new List<DateTimeOffset> { row.NextRunAt!.Value };
            occurrences.AddRange(row.Cron.GetOccurrences(row.NextRunAt.Value, now, row.Zone).Take(10_000));
            var toRun = Select(occurrences, now - misfireThreshold, row.Misfire);
            var jobId = toRun.Count > 0 ? await EnqueueOccurrencesAsync(connection, tx, row, toRun, ct) : (long?)null;
            await UpdateRunAsync(connection, tx, row.Name, row.Cron.GetNextOccurrence(now, row.Zone), toRun.Count > 0 ? toRun[^1] : null, jobId, ct);
            if (toRun.Count > 0) queues.Add(row.Queue);
        }
        await tx.CommitAsync(ct);
        foreach (var queue in queues) _wakeups.Wake(queue);
        return queues;
    }

    /// <summary>When the scheduler should look again: the earliest next run, if any.</summary>
    internal async Task<DateTimeOffset?> NextDueAsync(CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand($"SELECT min(next_run_at) FROM {_s}.recurring_jobs WHERE NOT paused");
        return await command.ExecuteScalarAsync(ct) is DateTime next ? new DateTimeOffset(next, TimeSpan.Zero) : null;
    }

    /// <summary>
    /// Occurrences older than the threshold are missed (nobody was running). Relaxed collapses a
    /// backlog with misses into one run, at the latest occurrence; Strict runs every one; Ignore
    /// drops the missed and runs the on-time ones. Without misses, every occurrence runs.
    /// </summary>
    internal static List<DateTimeOffset> Select(List<DateTimeOffset> occurrences, DateTimeOffset missedBefore, MisfirePolicy policy)
    {
        if (occurrences.Count == 0 || occurrences[0] >= missedBefore) return occurrences;
        return policy switch
        {
            MisfirePolicy.Strict => occurrences,
            MisfirePolicy.Relaxed => [occurrences[^1]],
            _ => occurrences.Where(o => o >= missedBefore).ToList(),
        };
    }

    private async Task<long> EnqueueOccurrencesAsync(NpgsqlConnection connection, NpgsqlTransaction tx, StoredRecurringJob row,
        IReadOnlyList<DateTimeOffset> occurrences, CancellationToken ct)
    {
        var kind = _kinds.Find(row.Kind) ?? throw new InvalidOperationException($"recurring job '{row.Name}' has kind '{row.Kind}', which this instance does not know");
        var rows = occurrences.Select(o => _client.ToRow(kind, row.ArgsJson, new EnqueueOptions { Queue = row.Queue },
            JsonSerializer.Serialize(new { recurring = row.Name, occurrence = o }))).ToList();
        var results = await _client.InsertAsync(connection, tx, rows, ct);
        return results[^1].JobId;
    }

    private async Task UpdateRunAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string name, DateTimeOffset? next, DateTimeOffset? lastRun, long? jobId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            UPDATE {_s}.recurring_jobs SET next_run_at = $2, last_run_at = coalesce($3, last_run_at), last_job_id = coalesce($4, last_job_id), updated_at = $5
            WHERE name = $1
            """, connection, tx);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)next ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)lastRun ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)jobId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = _clock.GetUtcNow() });
        await command.ExecuteNonQueryAsync(ct);
    }

    private async Task<StoredRecurringJob?> LockAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string name, CancellationToken ct) =>
        (await ReadAsync(connection, tx, $"""
            SELECT name, cron, time_zone, kind, args::text, queue, misfire, next_run_at FROM {_s}.recurring_jobs
            WHERE name = $1 FOR UPDATE
            """, name, ct)).FirstOrDefault();

    private static async Task<List<StoredRecurringJob>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, object parameter, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        var rows = new List<StoredRecurringJob>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new StoredRecurringJob(reader.GetString(0), CronExpression.Parse(reader.GetString(1)),
                TimeZoneInfo.FindSystemTimeZoneById(reader.GetString(2)), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                Enum.Parse<MisfirePolicy>(reader.GetString(6), ignoreCase: true), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7)));
        return rows;
    }

    private sealed record StoredRecurringJob(string Name, CronExpression Cron, TimeZoneInfo Zone, string Kind, string ArgsJson, string Queue,
        MisfirePolicy Misfire, DateTimeOffset? NextRunAt);
}
