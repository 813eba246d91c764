using System.Text.Json;
using Dispatcher.Queue.Storage;
using Dispatcher.Queue.Workers;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Queue;

/// <summary>Per-enqueue choices; unset values come from the job kind's options.</summary>
public sealed record EnqueueOptions
{
    public string? Queue { get; init; }
    public short? Priority { get; init; }
    public int? MaxAttempts { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    /// <summary>Run at this time (state scheduled until then).</summary>
    public DateTimeOffset? ScheduledAt { get; init; }
    /// <summary>Run after this delay from now.</summary>
    public TimeSpan? Delay { get; init; }
    /// <summary>At most one unfinished job per key; a second enqueue returns the live one as a duplicate.</summary>
    public string? UniqueKey { get; init; }
}

public sealed record JobRequest(object Args, EnqueueOptions? Options = null);

public readonly record struct EnqueueResult(long JobId, bool Duplicate);

/// <summary>Puts jobs into the queue, alone, in bulk, or inside the caller's transaction.</summary>
public sealed class JobClient
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly JobKindRegistry _kinds;
    private readonly JobSql _sql;
    private readonly QueueWakeups _wakeups;
    private readonly NotifyThrottle _throttle;
    private readonly TimeProvider _clock;
    private readonly JsonSerializerOptions _json;
    private readonly string _channel;
    private readonly TimeSpan _stageInterval;
    private readonly bool _useNotify;

    internal JobClient(NpgsqlDataSource dataSource, JobKindRegistry kinds, QueueOptions options, QueueWakeups wakeups,
        NotifyThrottle throttle, TimeProvider clock, JsonSerializerOptions json)
    {
        _dataSource = dataSource;
        _kinds = kinds;
        _sql = new JobSql(options.Schema);
        _wakeups = wakeups;
        _throttle = throttle;
        _clock = clock;
        _json = json;
        _channel = options.Channel;
        _stageInterval = options.StageInterval;
        _useNotify = options.UseListenNotify;
    }

    public async Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, EnqueueOptions? options = null, CancellationToken ct = default)
        where TArgs : notnull =>
        (await EnqueueManyAsync([new JobRequest(args, options)], ct))[0];

    public async Task<EnqueueResult> EnqueueAsync<TArgs>(NpgsqlTransaction transaction, TArgs args, EnqueueOptions? options = null, CancellationToken ct = default)
        where TArgs : notnull =>
        (await EnqueueManyAsync(transaction, [new JobRequest(args, options)], ct))[0];

    /// <summary>Inserts all jobs in one round trip, in its own transaction.</summary>
    public async Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync(IReadOnlyList<JobRequest> jobs, CancellationToken ct = default)
    {
        var rows = jobs.Select(ToRow).ToList();
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        var results = await InsertAsync(connection, null, rows, ct);
        WakeLocal(rows);
        return results;
    }

    /// <summary>Inserts inside the caller's transaction: the jobs exist exactly when the caller's rows do.</summary>
    public async Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync(NpgsqlTransaction transaction, IReadOnlyList<JobRequest> jobs, CancellationToken ct = default)
    {
        var rows = jobs.Select(ToRow).ToList();
        // No local wake-up: before the commit there is nothing to find. The NOTIFY, never
        // throttled inside a transaction, arrives with the commit, here and in every instance.
        return await InsertAsync(transaction.Connection!, transaction, rows, ct);
    }

    /// <summary>
    /// Makes the snoozing or scheduled job with this unique key run now; a running one runs once
    /// more as soon as it ends. False when no such job is live.
    /// </summary>
    public async Task<bool> WakeAsync(string uniqueKey, CancellationToken ct = default)
    {
        await using var command = _dataSource.CreateCommand(_sql.Wake);
        command.Parameters.Add(Param(uniqueKey, NpgsqlDbType.Text));
        command.Parameters.Add(Param(_clock.GetUtcNow(), NpgsqlDbType.TimestampTz));
        command.Parameters.Add(Param(_channel, NpgsqlDbType.Text));
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return false;
        _wakeups.Wake(reader.GetString(0));
        return true;
    }

    internal JobRow ToRow(JobRequest request)
    {
        var kind = _kinds.ForArgs(request.Args.GetType());
        return ToRow(kind, JsonSerializer.Serialize(request.Args, kind.ArgsType, _json), request.Options, metadataJson: null);
    }

    internal JobRow ToRow(JobKind kind, string argsJson, EnqueueOptions? options, string? metadataJson)
    {
        options ??= new EnqueueOptions();
        var now = _clock.GetUtcNow();
        var runAt = options.ScheduledAt ?? (options.Delay is { } delay ? now + delay : now);
        var maxAttempts = options.MaxAttempts ?? kind.Options.MaxAttempts;
        if (maxAttempts < 1) throw new ArgumentException($"max attempts must be at least 1, not {maxAttempts}");
        return new JobRow(kind.Name, options.Queue ?? kind.Options.Queue, options.Priority ?? kind.Options.Priority, argsJson,
            maxAttempts, options.Tags, metadataJson, options.UniqueKey, runAt, Available: runAt <= now);
    }

    internal async Task<IReadOnlyList<EnqueueResult>> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<JobRow> rows, CancellationToken ct)
    {
        var results = new EnqueueResult?[rows.Count];
        var pending = Enumerable.Range(0, rows.Count).ToList();
        // A conflicting job can finish between our insert and our look-up; then the key is free
        // and the next round inserts. Three rounds are plenty in practice.
        for (var round = 0; pending.Count > 0; round++)
        {
            if (round == 3) throw new InvalidOperationException("could not settle unique keys after 3 tries");
            pending = await InsertRoundAsync(connection, transaction, rows, pending, results, ct);
        }
        return results.Select(r => r!.Value).ToList();
    }

    private async Task<List<int>> InsertRoundAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<JobRow> rows,
        List<int> indexes, EnqueueResult?[] results, CancellationToken ct)
    {
        var batch = indexes.Select(i => rows[i]).ToList();
        var notifyQueues = batch.Where(r => r.Available).Select(r => r.Queue).Distinct()
            .Where(queue => transaction is not null ? _useNotify : _throttle.ShouldNotify(queue)).ToArray();

        await using var command = new NpgsqlBatch(connection, transaction);
        var insert = new NpgsqlBatchCommand(_sql.Insert);
        insert.Parameters.Add(Param(batch.Select(r => r.Kind).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        insert.Parameters.Add(Param(batch.Select(r => r.Queue).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        insert.Parameters.Add(Param(batch.Select(r => r.Available ? "available" : "scheduled").ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        insert.Parameters.Add(Param(batch.Select(r => r.Priority).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Smallint));
        insert.Parameters.Add(Param(batch.Select(r => r.ArgsJson).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Jsonb));
        insert.Parameters.Add(Param(batch.Select(r => r.MaxAttempts).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer));
        insert.Parameters.Add(Param(batch.Select(r => r.Tags is { Count: > 0 } t ? JsonSerializer.Serialize(t) : null).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Jsonb));
        insert.Parameters.Add(Param(batch.Select(r => r.MetadataJson).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Jsonb));
        insert.Parameters.Add(Param(batch.Select(r => r.UniqueKey).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        insert.Parameters.Add(Param(batch.Select(r => r.ScheduledAt).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz));
        insert.Parameters.Add(Param(_clock.GetUtcNow(), NpgsqlDbType.TimestampTz));
        command.BatchCommands.Add(insert);
        if (notifyQueues.Length > 0)
        {
            var notify = new NpgsqlBatchCommand(_sql.Notify);
            notify.Parameters.Add(Param(_channel, NpgsqlDbType.Text));
            notify.Parameters.Add(Param(notifyQueues, NpgsqlDbType.Array | NpgsqlDbType.Text));
            command.BatchCommands.Add(notify);
        }

        // Rows come back in insertion order; a skipped (duplicate) row is simply absent.
        var inserted = new List<(long Id, string? UniqueKey)>(batch.Count);
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                inserted.Add((reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1)));

        var byKey = inserted.Where(r => r.UniqueKey is not null).ToDictionary(r => r.UniqueKey!, r => r.Id);
        var plain = new Queue<long>(inserted.Where(r => r.UniqueKey is null).Select(r => r.Id));
        var duplicates = new List<int>();
        foreach (var i in indexes)
        {
            var key = rows[i].UniqueKey;
            if (key is null) results[i] = new EnqueueResult(plain.Dequeue(), false);
            else if (byKey.Remove(key, out var id)) results[i] = new EnqueueResult(id, false);
            else duplicates.Add(i);
        }
        if (duplicates.Count == 0) return duplicates;

        await using var lookup = new NpgsqlCommand(_sql.FindLiveByUniqueKeys, connection, transaction);
        lookup.Parameters.Add(Param(duplicates.Select(i => rows[i].UniqueKey!).Distinct().ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        var live = new Dictionary<string, long>();
        await using (var reader = await lookup.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                live[reader.GetString(0)] = reader.GetInt64(1);
        var retry = new List<int>();
        foreach (var i in duplicates)
        {
            if (live.TryGetValue(rows[i].UniqueKey!, out var id)) results[i] = new EnqueueResult(id, true);
            else retry.Add(i);
        }
        return retry;
    }

    private void WakeLocal(IReadOnlyList<JobRow> rows)
    {
        foreach (var queue in rows.Where(r => r.Available).Select(r => r.Queue).Distinct())
            _wakeups.Wake(queue);
        if (rows.Any(r => !r.Available && r.ScheduledAt < _clock.GetUtcNow() + _stageInterval)) _wakeups.Stager.Set();
    }

    private static NpgsqlParameter Param(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };
}

/// <summary>A job ready to insert.</summary>
internal sealed record JobRow(string Kind, string Queue, short Priority, string ArgsJson, int MaxAttempts, IReadOnlyList<string>? Tags,
    string? MetadataJson, string? UniqueKey, DateTimeOffset ScheduledAt, bool Available);
