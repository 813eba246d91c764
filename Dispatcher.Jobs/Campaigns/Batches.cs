using System.Text.Json;
using Dispatcher.Jobs.CallingRules;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Campaigns;

/// <param name="TimeZone">The IANA zone its calling window is judged in; null: the zones its number maps to.</param>
public sealed record NewContact(string PhoneNumber, string? Name = null, IReadOnlyDictionary<string, string>? Variables = null, string? TimeZone = null);

public sealed record NewBatch(
    long AgencyId,
    long AgentMappingId,
    string Name,
    int CallsPerMinute,
    int MaxConcurrent,
    IReadOnlyList<NewContact> Contacts,
    int MaxAttempts = 1,
    DateTimeOffset? ScheduledFor = null,
    CallingHours? CallingHours = null);

public sealed record BatchSummary(long Id, long AgencyId, long? AgentMappingId, string Name, string Status, DateTimeOffset? ScheduledFor,
    int CallsPerMinute, int MaxConcurrent, int MaxAttempts, int Total, int Pending, int Queued, int Dialing, int InProgress, int Unknown,
    int Completed, int Failed, int Cancelled, DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt, string? LastError, DateTimeOffset CreatedAt,
    int Suppressed = 0, string? CallingHours = null, bool Stopped = false, int WaitingForWindow = 0, DateTimeOffset? NextWindowOpensAt = null);

/// <summary>Creating batches and what an operator does to them: pause, resume, cancel, retry failed contacts.</summary>
public sealed class Batches(NpgsqlDataSource dataSource, ContactLedger ledger, BatchWaker waker, FailedCalls failedCalls, ICampaignJobs jobs,
    CampaignOptions options, CallingRulesOptions rules, BatchQueries queries, TimeProvider clock)
{
    /// <summary>Most contacts one batch takes in one request.</summary>
    public const int MaxContacts = 100_000;

    /// <summary>Most invalid contacts listed in an answer; all are counted.</summary>
    public const int MaxReportedInvalid = 1_000;

    /// <summary>
    /// Batch and contacts in one transaction: all or nothing. Its dial job is made after the
    /// commit; were the service to stop in between, the tick gives the batch one.
    /// </summary>
    public async Task<long> CreateAsync(NewBatch batch, CancellationToken ct)
    {
        var settings = new BatchSettings(batch.AgencyId, batch.AgentMappingId, batch.Name, batch.CallsPerMinute, batch.MaxConcurrent,
            batch.MaxAttempts, batch.ScheduledFor, batch.CallingHours);
        Validate(settings);
        if (batch.Contacts.Count == 0) throw new ArgumentException("a batch needs at least one contact");
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var id = await InsertBatchAsync(connection, tx, settings, now, ct);
        var planner = new WindowPlanner(await HoursAsync(connection, tx, id, ct), now);
        // Contacts given here are not checked (the dial refuses an invalid number): one whose zones share no hour waits a day.
        var zones = batch.Contacts.Select(c => ContactZones.Of(c.PhoneNumber.Trim(), c.TimeZone) ?? []).ToArray();
        var windows = zones.Select(z => planner.For(z) ?? new OpenWindow(now.AddDays(1), now.AddDays(1))).ToArray();
        await using (var contacts = new NpgsqlCommand("""
            INSERT INTO campaign_contacts (batch_id, phone_number, name, variables, status_changed_at, created_at, updated_at, time_zones, window_opens_at, window_closes_at)
            SELECT $1, phone, name, coalesce(variables, '{}'), $5, $5, $5, string_to_array(zones, ','), opens_at, closes_at
            FROM unnest($2::text[], $3::text[], $4::jsonb[], $6::text[], $7::timestamptz[], $8::timestamptz[]) AS c(phone, name, variables, zones, opens_at, closes_at)
            """, connection, tx))
        {
            contacts.Parameters.Add(new NpgsqlParameter { Value = id });
            contacts.Parameters.Add(new NpgsqlParameter { Value = batch.Contacts.Select(c => c.PhoneNumber.Trim()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            contacts.Parameters.Add(new NpgsqlParameter { Value = batch.Contacts.Select(c => c.Name).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            contacts.Parameters.Add(new NpgsqlParameter
            {
                Value = batch.Contacts.Select(c => c.Variables is null ? null : JsonSerializer.Serialize(c.Variables)).ToArray(),
                NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb,
            });
            contacts.Parameters.Add(new NpgsqlParameter { Value = now });
            contacts.Parameters.Add(new NpgsqlParameter { Value = zones.Select(z => string.Join(',', z)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            contacts.Parameters.Add(new NpgsqlParameter { Value = windows.Select(w => w.OpensAt).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            contacts.Parameters.Add(new NpgsqlParameter { Value = windows.Select(w => w.ClosesAt).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            await contacts.ExecuteNonQueryAsync(ct);
        }
        await SuppressListedAsync(connection, tx, id, settings.AgencyId, now, ct);
        await tx.CommitAsync(ct);
        await AssignDialerAsync(id, settings, ct);
        return id;
    }

    /// <summary>
    /// A batch from an upload that streams in: its contacts go to PostgreSQL by binary COPY as they
    /// are read, inside one transaction with the batch row and its job. Invalid contacts are
    /// skipped or make the whole upload fail, as the caller chose; either way nothing is
    /// half-written. More than <see cref="MaxContacts"/> contacts throws <see cref="TooManyContactsException"/>.
    /// </summary>
    public async Task<ImportResult> ImportAsync(BatchSettings settings, IAsyncEnumerable<ContactLine> contacts, InvalidRows invalidRows,
        CancellationToken ct)
    {
        Validate(settings);
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var id = await InsertBatchAsync(connection, tx, settings, now, ct);
        var planner = new WindowPlanner(await HoursAsync(connection, tx, id, ct), now);
        var invalid = new List<InvalidContact>();
        int imported = 0, invalidCount = 0;
        // Disposed without CompleteAsync, the COPY is abandoned; disposing the transaction then rolls the batch row back too.
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY campaign_contacts (batch_id, phone_number, name, variables, status_changed_at, created_at, updated_at, time_zones, window_opens_at, window_closes_at) FROM STDIN (FORMAT BINARY)", ct))
        {
            await foreach (var line in contacts.WithCancellation(ct))
            {
                if (imported + invalidCount == MaxContacts) throw new TooManyContactsException(MaxContacts);
                var window = line.Contact is null ? null : planner.For(line.Zones);
                if (line.Contact is not { } contact || window is null)
                {
                    invalidCount++;
                    if (invalid.Count >= MaxReportedInvalid) continue;
                    invalid.Add(line.Contact is null ? new InvalidContact(line.Line, line.Field ?? "row", line.Error ?? "is invalid")
                        : new InvalidContact(line.Line, "time_zone", $"its zones ({string.Join(", ", line.Zones!)}) share no hour of the calling hours in the coming week"));
                    continue;
                }
                if (invalidCount > 0 && invalidRows == InvalidRows.Reject) continue; // none of it will be kept; keep reading to report every invalid row
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(id, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(contact.PhoneNumber.Trim(), NpgsqlDbType.Text, ct);
                if (contact.Name is null) await copy.WriteNullAsync(ct);
                else await copy.WriteAsync(contact.Name, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(contact.Variables is { Count: > 0 } v ? JsonSerializer.Serialize(v) : "{}", NpgsqlDbType.Jsonb, ct);
                for (var i = 0; i < 3; i++) await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(line.Zones ?? [], NpgsqlDbType.Array | NpgsqlDbType.Text, ct);
                await copy.WriteAsync(window.OpensAt, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(window.ClosesAt, NpgsqlDbType.TimestampTz, ct);
                imported++;
            }
            if (invalidCount > 0 && invalidRows == InvalidRows.Reject) return new ImportResult.Rejected(invalidCount, invalid);
            if (imported == 0) throw new ArgumentException(invalidCount > 0 ? "no valid contact is left once the invalid ones are skipped" : "a batch needs at least one contact");
            await copy.CompleteAsync(ct);
        }
        await SuppressListedAsync(connection, tx, id, settings.AgencyId, now, ct);
        await tx.CommitAsync(ct);
        await AssignDialerAsync(id, settings, ct);
        return new ImportResult.Created(id, imported, invalidCount, invalid);
    }

    // A batch that starts within a dial job's hold is dialled by a job enqueued now, which waits for
    // the start; one scheduled further ahead gets a job due a little before it starts.
    private Task AssignDialerAsync(long id, BatchSettings settings, CancellationToken ct) =>
        waker.AssignAsync(id, settings.Name, ct, options.StartOf(settings.ScheduledFor) is { } starts && starts > clock.GetUtcNow() + options.HoldLimit
            ? starts - options.SchedulerLead
            : null);

    private static async Task<long> InsertBatchAsync(NpgsqlConnection connection, NpgsqlTransaction tx, BatchSettings batch, DateTimeOffset now,
        CancellationToken ct)
    {
        var scheduled = batch.ScheduledFor > now;
        await using var insert = new NpgsqlCommand("""
            INSERT INTO call_batches (agency_id, agent_mapping_id, name, status, scheduled_for, calls_per_minute, max_concurrent, max_attempts, created_at, updated_at,
                                      calling_start_minute, calling_end_minute, calling_days)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12
            WHERE EXISTS (SELECT 1 FROM agent_mappings WHERE id = $2 AND agency_id = $1)
            RETURNING id
            """, connection, tx);
        foreach (var value in new object?[] { batch.AgencyId, batch.AgentMappingId, batch.Name, scheduled ? "scheduled" : "pending",
                     batch.ScheduledFor, batch.CallsPerMinute, batch.MaxConcurrent, batch.MaxAttempts, now })
            insert.Parameters.Add(value is null ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz } : new NpgsqlParameter { Value = value });
        foreach (var value in StoredHours.Values(batch.CallingHours))
            insert.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Integer });
        return await insert.ExecuteScalarAsync(ct) as long?
            ?? throw new ArgumentException($"agent mapping {batch.AgentMappingId} does not exist for agency {batch.AgencyId}");
    }

    /// <summary>The batch, with its contacts waiting for their calling window.</summary>
    public async Task<BatchSummary?> GetAsync(long id, CancellationToken ct)
    {
        BatchSummary batch;
        await using (var command = dataSource.CreateCommand($"SELECT {BatchQueries.Columns} FROM call_batches WHERE id = $1"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return null;
            batch = BatchQueries.ReadBatch(reader);
        }
        return (await queries.WithWindowWaitsAsync([batch], clock.GetUtcNow(), ct))[0];
    }

    // The batch's effective calling hours, read in the creating transaction; refused when the batch's leave none of its agency's.
    private async Task<CallingHours> HoursAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long id, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(CampaignSql.HoursOfBatches, connection, tx);
        command.Parameters.Add(new NpgsqlParameter { Value = new[] { id } });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (own, agency) = (StoredHours.Read(reader, 1), StoredHours.Read(reader, 4));
        return rules.HoursFor(own, agency)
            ?? throw new ArgumentException($"calling_hours {own} leave no hour open within the agency's {agency ?? rules.DefaultHours}");
    }

    // A number on the agency's do-not-call list is suppressed at import: never dialled, its state says why.
    private static async Task SuppressListedAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long id, long agencyId, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(CampaignSql.SuppressListed, connection, tx);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>No new dials; calls already live finish. False when the batch is not running.</summary>
    public Task<bool> PauseAsync(long id, CancellationToken ct) =>
        SetStatusAsync(id, "paused", ["pending", "scheduled", "processing"], ct);

    public async Task<bool> ResumeAsync(long id, CancellationToken ct)
    {
        // A batch paused before it started goes back to pending, so its job starts it properly.
        await using var command = dataSource.CreateCommand("""
            UPDATE call_batches SET status = CASE WHEN started_at IS NULL THEN 'pending' ELSE 'processing' END, updated_at = $2
            WHERE id = $1 AND status = 'paused'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        if (await command.ExecuteNonQueryAsync(ct) == 0) return false;
        await ledger.EnsureJobAsync(id, ct);
        return true;
    }

    /// <summary>Queued and pending contacts are cancelled; live calls finish and are recorded.</summary>
    public async Task<bool> CancelAsync(long id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.Cancel);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        // The statement's last UPDATE touches the batch only when it could still be cancelled.
        if (await command.ExecuteNonQueryAsync(ct) == 0) return false;
        await failedCalls.RetireBatchAsync(id, ct);
        return true;
    }

    /// <summary>
    /// Failed contacts are queued again with one more attempt allowed each (their count of
    /// attempts stays as it was); a finished batch goes back to processing. Each records
    /// <paramref name="requeuedBy"/> and when. Returns how many.
    /// </summary>
    public async Task<int> RetryFailedAsync(long id, string requeuedBy, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, tx)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("""
                    UPDATE call_batches SET status = CASE WHEN status = 'paused' THEN 'paused' ELSE 'processing' END,
                           completed_at = NULL, last_error = NULL, updated_at = $2,
                           max_attempts = greatest(max_attempts, (SELECT coalesce(max(attempts), 0) + 1 FROM campaign_contacts WHERE batch_id = $1 AND status = 'failed'))
                    WHERE id = $1 AND status IN ('processing', 'completed', 'failed', 'paused')
                      -- nothing to retry: a finished batch stays finished
                      AND EXISTS (SELECT 1 FROM campaign_contacts WHERE batch_id = $1 AND status = 'failed')
                    """),
                new NpgsqlBatchCommand(CampaignSql.RequeueFailed),
            },
        };
        foreach (var command in batch.BatchCommands)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
        }
        batch.BatchCommands[1].Parameters.Add(new NpgsqlParameter { Value = requeuedBy });
        int requeued;
        string[] failedJobs;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct); // the first result set: the batch's update returns none
            (requeued, failedJobs) = (reader.GetInt32(0), reader.GetFieldValue<string[]>(1));
        }
        await tx.CommitAsync(ct);
        // Their failed jobs leave the Failed list: these contacts wait for a dial again.
        foreach (var jobId in failedJobs) jobs.Retire(jobId);
        if (requeued > 0) await ledger.EnsureJobAsync(id, ct);
        return requeued;
    }

    private async Task<bool> SetStatusAsync(long id, string status, string[] from, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("UPDATE call_batches SET status = $2, updated_at = $4 WHERE id = $1 AND status = ANY ($3)");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    private static void Validate(BatchSettings batch)
    {
        if (string.IsNullOrWhiteSpace(batch.Name)) throw new ArgumentException("a batch needs a name");
        if (batch.CallsPerMinute is < 1 or > 6000) throw new ArgumentException($"calls_per_minute must be 1-6000, not {batch.CallsPerMinute}");
        if (batch.MaxConcurrent is < 1 or > 1000) throw new ArgumentException($"max_concurrent must be 1-1000, not {batch.MaxConcurrent}");
        if (batch.MaxAttempts is < 1 or > 10) throw new ArgumentException($"max_attempts must be 1-10, not {batch.MaxAttempts}");
    }
}
