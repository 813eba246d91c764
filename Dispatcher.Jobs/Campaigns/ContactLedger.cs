using System.Text.Json;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// A contact reserved for a dial: its attempt is counted and its pace slot taken. A suppressed one
/// was found on the do-not-call list instead: marked so, nothing spent, not to be dialled.
/// </summary>
public sealed record ReservedContact(long Id, string PhoneNumber, string? Name, string VariablesJson, int Attempt, DateTimeOffset Slot, bool Suppressed = false);

/// <summary>A batch as the dialler sees it.</summary>
public sealed record BatchState(string Status, DateTimeOffset? ScheduledFor, DateTimeOffset? NextDialAt, DateTimeOffset? RateLimitedUntil,
    int Live, int MaxConcurrent, int Queued, long AgencyId, long? AgentMappingId, int Dialing, bool Owned, string Name, string? LastError, bool Stopped,
    int CallsPerMinute)
{
    /// <summary>
    /// The batch's next pace slot once the call requested at <paramref name="sentAt"/> is
    /// recorded: an interval after the request went out, if that is later than the reservation's.
    /// </summary>
    public DateTimeOffset NextSlotAfterSend(DateTimeOffset sentAt)
    {
        var fromSend = sentAt + TimeSpan.FromSeconds(60.0 / CallsPerMinute);
        return NextDialAt is { } reserved && reserved > fromSend ? reserved : fromSend;
    }
}

/// <summary>
/// A call Ultravox created, to be recorded (dial protocol step 3): its request went out at
/// <paramref name="DialedAt"/> and was answered at <paramref name="AnsweredAt"/>, when the contact's call began.
/// </summary>
public sealed record CreatedCall(ReservedContact Contact, UltravoxCall Call, DateTimeOffset DialedAt, DateTimeOffset AnsweredAt);

/// <summary>
/// Every move of a campaign contact, each one statement that also moves the batch's counters,
/// and what happens to the batch after: completion when nothing is left, a wake-up of its
/// dial job when a slot frees or a contact waits again, the failed job of a contact that failed
/// for good.
/// </summary>
public sealed class ContactLedger(NpgsqlDataSource dataSource, ICampaignJobs jobs, BatchWaker waker, FailedCalls failedCalls, CampaignOptions options,
    TimeProvider clock)
{
    /// <summary>
    /// Dial protocol step 1 for the dialer <paramref name="run"/>, and the batch's state after it, in
    /// one statement. The record of the run's previous call (<paramref name="created"/>, when it
    /// waited for this) goes first in the same round trip and transaction: one statement and one
    /// commit fewer a dial, and the reservation's flush makes the record durable with it.
    /// </summary>
    public async Task<(ReservedContact? Contact, BatchState? Batch)> ReserveAsync(long batchId, string run, DateTimeOffset leaseUntil, CreatedCall? created,
        CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        if (created is not null) batch.BatchCommands.Add(Record(CampaignSql.Created, created));
        var reserve = new NpgsqlBatchCommand(CampaignSql.Reserve);
        reserve.Parameters.Add(Param(batchId));
        reserve.Parameters.Add(Param(clock.GetUtcNow()));
        reserve.Parameters.Add(Param(run));
        reserve.Parameters.Add(Param(leaseUntil));
        batch.BatchCommands.Add(reserve);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (created is not null) await reader.NextResultAsync(ct);
        if (!await reader.ReadAsync(ct)) return (null, null);
        var state = new BatchState(reader.GetString(0), Nullable(reader, 1), Nullable(reader, 2), Nullable(reader, 3),
            reader.GetInt32(4), reader.GetInt32(5), reader.GetInt32(6), reader.GetInt64(7), reader.IsDBNull(8) ? null : reader.GetInt64(8),
            reader.GetInt32(9), reader.GetBoolean(16), reader.GetString(17), reader.IsDBNull(18) ? null : reader.GetString(18), reader.GetBoolean(20),
            reader.GetInt32(21));
        var contact = reader.IsDBNull(10) ? null
            : new ReservedContact(reader.GetInt64(10), reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12),
                reader.GetString(13), reader.GetInt32(14), reader.GetFieldValue<DateTimeOffset>(15), reader.GetBoolean(19));
        return (contact, state);
    }

    /// <summary>Starts those of the batches that are due within <see cref="CampaignOptions.StartLead"/>; one not yet due dials from its time.</summary>
    public async Task StartAsync(IReadOnlyCollection<long> batchIds, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand(CampaignSql.Start);
        command.Parameters.Add(new NpgsqlParameter { Value = batchIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = now + options.StartLead });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Half-done dials of a dead run (all but <paramref name="reserved"/>) become unknown, each looked up by a job.</summary>
    public async Task RecoverInterruptedAsync(long batchId, long? reserved, CancellationToken ct)
    {
        var interrupted = new List<(long ContactId, int Attempt)>();
        await using (var command = dataSource.CreateCommand(CampaignSql.Interrupted))
        {
            command.Parameters.Add(Param(batchId));
            command.Parameters.Add(Param(clock.GetUtcNow()));
            command.Parameters.Add(Param(reserved ?? 0L));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) interrupted.Add((reader.GetInt64(0), reader.GetInt32(1)));
        }
        // Were the service to stop here, the reconciliation finds these unknown contacts and looks them up.
        foreach (var (contactId, attempt) in interrupted) jobs.ResolveDial(contactId, attempt, TimeSpan.Zero);
    }

    /// <summary>Records the call on its own (without waiting for the commit's WAL flush: see the statement).</summary>
    public async Task CreatedAsync(CreatedCall created, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(Record(CampaignSql.CreatedWithoutFlushWait, created));
        await batch.ExecuteNonQueryAsync(ct);
    }

    private NpgsqlBatchCommand Record(string sql, CreatedCall created)
    {
        var command = new NpgsqlBatchCommand(sql);
        // Recorded maybe a moment later, with the next reservation: its times are the call's own.
        foreach (var value in new object[] { created.Contact.Id, created.Call.CallId, created.Contact.Attempt, created.AnsweredAt, created.Contact.Slot,
                     created.DialedAt, JsonSerializer.Serialize(created.Call.Metadata) })
            command.Parameters.Add(Param(value));
        return command;
    }

    public Task RateLimitedAsync(long batchId, ReservedContact contact, TimeSpan retryAfter, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        return ExecuteAsync(CampaignSql.RateLimited, ct, contact.Id, now, now + retryAfter, batchId);
    }

    /// <summary>A reserved contact that was never dialled goes back to the queue, its attempt not spent.</summary>
    public Task ReleaseAsync(ReservedContact contact, CancellationToken ct) =>
        ExecuteAsync(CampaignSql.Release, ct, contact.Id, clock.GetUtcNow());

    /// <summary>A definite no; <paramref name="sentAt"/> is when the refused request went out, if one did.</summary>
    public async Task RejectedAsync(long batchId, long contactId, string reason, DateTimeOffset? sentAt, CancellationToken ct)
    {
        await ExecuteAsync(CampaignSql.Rejected, ct, contactId, reason, clock.GetUtcNow(), sentAt);
        await failedCalls.RecordAsync(contactId, ct);
        await AfterContactFinishedAsync(batchId, requeued: false, ct);
    }

    /// <summary>The outcome is unknown: mark it so, with its look-up job made first (it waits a moment, and a look-up of a contact that is not unknown does nothing).</summary>
    public async Task UnknownAsync(ReservedContact contact, string reason, DateTimeOffset sentAt, CancellationToken ct)
    {
        jobs.ResolveDial(contact.Id, contact.Attempt, options.UnknownCallRecheck);
        await ExecuteAsync(CampaignSql.Unknown, ct, contact.Id, $"outcome unknown ({reason}); looking the call up before any new attempt", clock.GetUtcNow(), sentAt);
    }

    /// <summary>
    /// Step 4: the call of this attempt ended (webhook, look-up or reconciliation). False when it
    /// changed nothing: a duplicate, a stale attempt or an unknown contact.
    /// </summary>
    public async Task<bool> CallEndedAsync(long contactId, int attempt, UltravoxCall call, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand(CampaignSql.CallEnded);
        foreach (var value in new object?[] { contactId, attempt, call.CallId, call.EndReason ?? "unknown", now, call.Created, call.Joined, call.Ended,
                     JsonSerializer.Serialize(call.Metadata) })
            command.Parameters.Add(Param(value));
        long batchId;
        string contactStatus;
        BatchAfter after;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct)) return false;
            (batchId, contactStatus) = (reader.GetInt64(0), reader.GetString(1));
            after = new BatchAfter(reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5));
        }
        if (contactStatus == "failed") await failedCalls.RecordAsync(contactId, ct);
        // The batch completed in the same statement when nothing was left.
        await WakeIfWaitingAsync(batchId, after, requeued: contactStatus == "queued", ct);
        return true;
    }

    /// <summary>A look-up found the call of an unknown outcome still live.</summary>
    public Task FoundLiveAsync(long contactId, int attempt, UltravoxCall call, CancellationToken ct) =>
        ExecuteAsync(CampaignSql.Created, ct, contactId, call.CallId, attempt, clock.GetUtcNow(), null, call.Created ?? clock.GetUtcNow(),
            JsonSerializer.Serialize(call.Metadata));

    /// <summary>No call turned up for an unknown outcome: another attempt if allowed, else failed.</summary>
    public async Task GiveUpAsync(long batchId, long contactId, int attempt, string reason, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.GiveUp);
        foreach (var value in new object[] { contactId, attempt, reason, clock.GetUtcNow() }) command.Parameters.Add(Param(value));
        if (await command.ExecuteScalarAsync(ct) is not string status) return;
        if (status == "failed") await failedCalls.RecordAsync(contactId, ct);
        await AfterContactFinishedAsync(batchId, requeued: status == "queued", ct);
    }

    public async Task FailBatchAsync(long batchId, string reason, CancellationToken ct) =>
        await ExecuteAsync(CampaignSql.FailBatch, ct, batchId, reason, clock.GetUtcNow());

    /// <summary>A failed batch whose dialer is <paramref name="run"/> goes back to processing.</summary>
    public async Task<bool> ReviveAsync(long batchId, string run, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.Revive);
        foreach (var value in new object[] { batchId, run, clock.GetUtcNow() }) command.Parameters.Add(Param(value));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Completes the batch when nothing is left; otherwise wakes its job if a slot freed or a contact waits again.</summary>
    public async Task AfterContactFinishedAsync(long batchId, bool requeued, CancellationToken ct)
    {
        BatchAfter after;
        await using (var command = dataSource.CreateCommand(CampaignSql.CompleteIfDone))
        {
            command.Parameters.Add(Param(batchId));
            command.Parameters.Add(Param(clock.GetUtcNow()));
            // The reader must be gone before the next statement: its connection goes back to the pool with it.
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return;
            after = new BatchAfter(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3));
        }
        await WakeIfWaitingAsync(batchId, after, requeued, ct);
    }

    /// <summary>A batch right after one of its contacts finished an attempt.</summary>
    private sealed record BatchAfter(string Status, int Queued, int Live, int MaxConcurrent);

    // The job waits on a full batch, or has ended because nothing was queued: wake it.
    private async Task WakeIfWaitingAsync(long batchId, BatchAfter after, bool requeued, CancellationToken ct)
    {
        if (after.Status == "processing" && after.Queued > 0 && (requeued || after.Live + 1 >= after.MaxConcurrent))
            await EnsureJobAsync(batchId, ct);
    }

    /// <summary>Makes sure the batch has its dial job, and that the job notices new work now.</summary>
    public Task EnsureJobAsync(long batchId, CancellationToken ct) => waker.WakeAsync(batchId, ct);

    private async Task ExecuteAsync(string sql, CancellationToken ct, params object?[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in values) command.Parameters.Add(Param(value));
        await command.ExecuteNonQueryAsync(ct);
    }

    // Nulls need a type for PostgreSQL to infer the parameter.
    private static NpgsqlParameter Param(object? value) => value switch
    {
        null => new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Unknown },
        _ => new NpgsqlParameter { Value = value },
    };

    private static DateTimeOffset? Nullable(NpgsqlDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
}
