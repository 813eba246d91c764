using Dispatcher.Jobs.CallingRules;
using Npgsql;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>A contact as the dashboard lists it, with every call placed for it.</summary>
/// <param name="RequeuedBy">Who last queued the contact again after it failed for good (a dashboard user, "REST API"), at <paramref name="RequeuedAt"/>.</param>
public sealed record ContactRow(long Id, string PhoneNumber, string? Name, string Status, int Attempts, string? LastError,
    DateTimeOffset StatusChangedAt, IReadOnlyList<CallRow> Calls, string? FailedJobId, DateTimeOffset? RequeuedAt, string? RequeuedBy);

public sealed record CallRow(string UltravoxCallId, int Attempt, string Status, string? EndReason, DateTimeOffset CreatedAt, DateTimeOffset? EndedAt);

public sealed record BatchPage(IReadOnlyList<BatchSummary> Batches, long? NextBeforeId);

public sealed record ContactPage(IReadOnlyList<ContactRow> Contacts, long? NextBeforeId);

/// <summary>
/// Read queries for the dashboard: batches and their contacts, newest first, paged by id
/// ("id &lt; $n", never OFFSET); counts come from the batch row's counters, never count(*).
/// </summary>
public sealed class BatchQueries(NpgsqlDataSource dataSource)
{
    public const int MaxPageSize = 200;
    /// <summary>The columns <see cref="ReadBatch"/> reads, in its order.</summary>
    internal const string Columns = """
        id, agency_id, agent_mapping_id, name, status, scheduled_for, calls_per_minute, max_concurrent, max_attempts,
        total, pending, queued, dialing, in_progress, unknown, completed, failed, cancelled, started_at, completed_at, last_error, created_at,
        suppressed, calling_start_minute, calling_end_minute, calling_days, stopped_from IS NOT NULL
        """;
    public static readonly string[] ActiveStatuses = ["pending", "scheduled", "processing", "paused"];

    /// <summary>Batches newest first; <paramref name="statuses"/> null means any.</summary>
    public async Task<BatchPage> ListAsync(IReadOnlyList<string>? statuses, long? beforeId, int limit, CancellationToken ct)
    {
        limit = Math.Clamp(limit, 1, MaxPageSize);
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM call_batches
            WHERE ($1::text[] IS NULL OR status = ANY ($1)) AND ($2::bigint IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)statuses?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)beforeId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var batches = new List<BatchSummary>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                batches.Add(ReadBatch(reader));
        if (batches.Count <= limit) return new BatchPage(batches, null);
        batches.RemoveAt(limit);
        return new BatchPage(batches, batches[^1].Id);
    }

    /// <summary>The batches with these ids that exist, in no particular order.</summary>
    public async Task<IReadOnlyList<BatchSummary>> GetManyAsync(IReadOnlyCollection<long> ids, CancellationToken ct)
    {
        var batches = new List<BatchSummary>();
        if (ids.Count == 0) return batches;
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM call_batches WHERE id = ANY ($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) batches.Add(ReadBatch(reader));
        return batches;
    }

    /// <summary>
    /// Contacts of a batch, one status or all, each with its calls; newest first. All statuses are
    /// read as one short walk of the (batch_id, status, id) index per status, merged: a batch of
    /// 100,000 contacts is never sorted whole for a page of 50.
    /// </summary>
    public async Task<ContactPage> ContactsAsync(long batchId, string? status, long? beforeId, int limit, CancellationToken ct)
    {
        limit = Math.Clamp(limit, 1, MaxPageSize);
        await using var command = dataSource.CreateCommand("""
            SELECT c.id, c.phone_number, c.name, c.status, c.attempts, c.last_error, c.status_changed_at, c.failed_job_id, c.requeued_at, c.requeued_by,
                   coalesce((SELECT jsonb_agg(jsonb_build_object('id', k.ultravox_call_id, 'attempt', k.attempt, 'status', k.status,
                                 'end_reason', k.end_reason, 'created_at', k.created_at, 'ended_at', k.ended_at) ORDER BY k.id)
                             FROM calls k WHERE k.contact_id = c.id), '[]')::text
            FROM unnest(CASE WHEN $2::text IS NULL
                             THEN ARRAY['pending', 'queued', 'dialing', 'in_progress', 'completed', 'failed', 'unknown', 'cancelled', 'suppressed']
                             ELSE ARRAY[$2::text] END) AS s(status)
            CROSS JOIN LATERAL (
                SELECT * FROM campaign_contacts c
                WHERE c.batch_id = $1 AND c.status = s.status AND ($3::bigint IS NULL OR c.id < $3)
                ORDER BY c.id DESC LIMIT $4) c
            ORDER BY c.id DESC LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)beforeId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var contacts = new List<ContactRow>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var calls = System.Text.Json.JsonSerializer.Deserialize<List<CallJson>>(reader.GetString(10))!
                    .Select(k => new CallRow(k.id, k.attempt, k.status, k.end_reason, k.created_at, k.ended_at)).ToList();
                contacts.Add(new ContactRow(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3),
                    reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), calls,
                    reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                    reader.IsDBNull(9) ? null : reader.GetString(9)));
            }
        if (contacts.Count <= limit) return new ContactPage(contacts, null);
        contacts.RemoveAt(limit);
        return new ContactPage(contacts, contacts[^1].Id);
    }

    /// <summary>The Hangfire job that dials the batch now, or last did ("JOBID/run" names a run of job JOBID).</summary>
    public async Task<string?> DialerJobIdAsync(long batchId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT dialer FROM call_batches WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        return await command.ExecuteScalarAsync(ct) is string dialer ? dialer.Split('/')[0] : null;
    }

    /// <summary>The batch a contact belongs to, or null when there is no such contact.</summary>
    public async Task<long?> BatchOfContactAsync(long contactId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT batch_id FROM campaign_contacts WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = contactId });
        return await command.ExecuteScalarAsync(ct) as long?;
    }

    private sealed record CallJson(string id, int attempt, string status, string? end_reason, DateTimeOffset created_at, DateTimeOffset? ended_at);

    internal static BatchSummary ReadBatch(NpgsqlDataReader reader)
    {
        DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
        return new BatchSummary(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.GetString(3),
            reader.GetString(4), At(5), reader.GetInt32(6), reader.GetInt32(7), reader.GetInt32(8), reader.GetInt32(9), reader.GetInt32(10),
            reader.GetInt32(11), reader.GetInt32(12), reader.GetInt32(13), reader.GetInt32(14), reader.GetInt32(15), reader.GetInt32(16),
            reader.GetInt32(17), At(18), At(19), reader.IsDBNull(20) ? null : reader.GetString(20), reader.GetFieldValue<DateTimeOffset>(21),
            reader.GetInt32(22), StoredHours.Read(reader, 23)?.ToString(), reader.GetBoolean(26));
    }

    /// <summary>The batches with their contacts waiting for their calling window at <paramref name="now"/> filled in.</summary>
    public async Task<IReadOnlyList<BatchSummary>> WithWindowWaitsAsync(IReadOnlyList<BatchSummary> batches, DateTimeOffset now, CancellationToken ct)
    {
        var waits = await WindowWaitAsync(batches.Where(b => b.Queued > 0).Select(b => b.Id).ToList(), now, ct);
        return batches.Select(b => waits.TryGetValue(b.Id, out var wait) ? b with { WaitingForWindow = wait.Waiting, NextWindowOpensAt = wait.NextOpensAt } : b).ToList();
    }

    /// <summary>
    /// Per batch, its queued contacts waiting for their calling window at <paramref name="now"/> and
    /// when the first of those windows opens: a walk of the batch's queued contacts in the window index.
    /// </summary>
    public async Task<IReadOnlyDictionary<long, (int Waiting, DateTimeOffset? NextOpensAt)>> WindowWaitAsync(IReadOnlyCollection<long> ids, DateTimeOffset now,
        CancellationToken ct)
    {
        var waits = new Dictionary<long, (int, DateTimeOffset?)>();
        if (ids.Count == 0) return waits;
        await using var command = dataSource.CreateCommand("""
            SELECT c.batch_id, count(*)::int, min(c.window_opens_at) FILTER (WHERE c.window_closes_at > $2)
            FROM campaign_contacts c
            WHERE c.batch_id = ANY ($1) AND c.status = 'queued' AND NOT (c.window_opens_at <= $2 AND c.window_closes_at > $2)
            GROUP BY c.batch_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            waits[reader.GetInt64(0)] = (reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
        return waits;
    }
}
