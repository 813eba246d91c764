using System.Text.Json;
using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// One run of a batch's dial job: claims the batch, dials what it may at its pace and under its
/// max_concurrent for a bounded slice, waiting in-process for near slots (a call end wakes it),
/// then hands the batch on: to a job scheduled for a far slot, a fresh job when the slice is
/// spent, or nobody when nothing is left to dial. Any number of instances share the pace and
/// the slots through the batch row, and the reservation proves this run still owns the batch.
/// </summary>
public sealed class BatchDialer(NpgsqlDataSource dataSource, ContactLedger ledger, AgencyDirectory directory, UltravoxClient ultravox,
    BatchWakeups wakeups, ContactWindows windows, ICampaignJobs jobs, CampaignOptions options, DialMetrics metrics, TimeProvider clock, ILogger<BatchDialer> logger)
{
    // Claims retried this long: a job that starts a moment before its predecessor has handed it the batch still gets it.
    private const int HandBackAttempts = 6;
    private static readonly TimeSpan HandBackPause = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan[] ClaimRetries = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(750)];

    // A created call whose batch has more to dial this soon is recorded with that reservation, in
    // its round trip and transaction, instead of by a statement of its own. Its contact shows
    // 'dialing' until then; a call.ended that comes first finishes it all the same. Only this run
    // dials the batch, so the pace holds: it waits for the slot the record would have set.
    private static readonly TimeSpan RecordWithNextReservationWithin = TimeSpan.FromSeconds(2);

    /// <param name="jobId">The Hangfire job performing this run.</param>
    public async Task RunAsync(long batchId, string jobId, CancellationToken ct)
    {
        var run = $"{jobId}/{Guid.NewGuid().ToString("N")[..8]}";
        if (await ClaimAsync(batchId, jobId, run, ct) is not var (name, handedToThisJob))
        {
            logger.LogInformation("Dial job {JobId} stands down: batch {BatchId} has another dialer, or is gone", jobId, batchId);
            return;
        }
        // A batch that stopped for want of credentials kept this job as its dialer: an operator's Requeue goes on with it.
        if (handedToThisJob && await ledger.ReviveAsync(batchId, run, ct))
            logger.LogInformation("Batch {BatchId} goes on: its failed dial job {JobId} was requeued", batchId, jobId);
        try
        {
            await DialSliceAsync(batchId, jobId, run, name, ct);
        }
        catch (Exception ex)
        {
            // Shutting down, a failure Hangfire retries, or one an operator must fix: the batch stays
            // with this job, which Hangfire hands to another worker (shutdown), performs again after
            // its retry delay, or on Requeue; this run's own claim would otherwise hold it until its lease ran out.
            logger.LogWarning(ex is OperationCanceledException ? null : ex, "Dial job {JobId} stops; batch {BatchId} stays with it", jobId, batchId);
            await HandBackAsync(batchId, jobId, run);
            throw;
        }
    }

    /// <summary>
    /// Hands the batch back to this job, so that its retry dials on at once. A run that failed
    /// because the database went away (a restart) tries for a few seconds: the fault drill found
    /// batches idle for their whole lease after a restart, their hand-back having failed with the run.
    /// </summary>
    private async Task HandBackAsync(long batchId, string jobId, string run)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await HandOffAsync(batchId, run, jobId, clock.GetUtcNow() + options.DialerLease, CancellationToken.None);
                return;
            }
            catch (NpgsqlException ex) when (attempt < HandBackAttempts)
            {
                logger.LogInformation("Dial job {JobId} could not hand batch {BatchId} back yet ({Reason}); trying again", jobId, batchId, ex.Message);
                await Task.Delay(HandBackPause, clock, CancellationToken.None);
            }
            catch (NpgsqlException ex)
            {
                logger.LogWarning("Dial job {JobId} could not hand batch {BatchId} back ({Reason}); it waits for its lease to run out", jobId, batchId, ex.Message);
                return;
            }
        }
    }

    private async Task DialSliceAsync(long batchId, string jobId, string run, string name, CancellationToken ct)
    {
        using var wakeup = wakeups.Register(batchId);
        var sliceEnds = clock.GetUtcNow() + options.SliceLength;
        DateTimeOffset? fullSince = null;
        CreatedCall? unrecorded = null;
        try
        {
            for (var first = true; ; first = false)
            {
                ct.ThrowIfCancellationRequested();
                var now = clock.GetUtcNow();
                if (now >= sliceEnds)
                {
                    // Recorded before the hand-off: the next job would take a contact still 'dialing' for an interrupted dial.
                    if (unrecorded is not null) await ledger.CreatedAsync(unrecorded, CancellationToken.None);
                    unrecorded = null;
                    await HandOffToNewJobAsync(batchId, name, run, null, ct);
                    return;
                }
                var (contact, batch) = await ledger.ReserveAsync(batchId, run, now + options.DialerLease, unrecorded, ct);
                unrecorded = null;
                if (batch is null) return;
                if (!batch.Owned)
                {
                    logger.LogWarning("Dial job {JobId} lost batch {BatchId} to another dialer (its lease ran out)", jobId, batchId);
                    return;
                }
                // Only one run dials a batch at a time, so a dial in flight at its start was left by a run that died mid-request.
                if (first && batch.Dialing > (contact is { Suppressed: false } ? 1 : 0))
                    await ledger.RecoverInterruptedAsync(batchId, contact?.Id, ct);
                switch (batch.Status)
                {
                    case "pending" or "scheduled" when options.StartOf(batch.ScheduledFor) is { } starts && starts > now:
                        if (await WaitOrLeaveAsync(batchId, name, run, starts, wakeup, ct)) return;
                        continue;
                    case "pending" or "scheduled":
                        await ledger.StartAsync([batchId], ct);
                        continue;
                    case not "processing":
                        // Paused, cancelled, completed, failed: resume, retry or requeue assign a new job.
                        await HandOffAsync(batchId, run, null, null, ct);
                        return;
                }
                if (contact is { Suppressed: true })
                {
                    logger.LogInformation("Contact {ContactId} of batch {BatchId} is on the do-not-call list: suppressed, not dialled", contact.Id, batchId);
                    continue;
                }
                if (contact is null)
                {
                    if (batch.Stopped)
                    {
                        // A stop holds the batch's agency: its resume gives the batch a job again.
                        await HandOffAsync(batchId, run, null, null, ct);
                        return;
                    }
                    if (batch.RateLimitedUntil > now)
                    {
                        if (await WaitOrLeaveAsync(batchId, name, run, batch.RateLimitedUntil.Value, wakeup, ct)) return;
                        continue;
                    }
                    if (batch.Queued == 0)
                    {
                        // Nothing left to dial: live calls finish through their webhooks, which complete
                        // the batch or wake a new job for a contact that waits again. One that came
                        // back meanwhile is handed on here: this run no longer listens for wake-ups.
                        await ledger.AfterContactFinishedAsync(batchId, requeued: false, ct);
                        wakeup.Dispose();
                        if (await HandOffAsync(batchId, run, null, null, ct) is { Queued: > 0 }) await ledger.EnsureJobAsync(batchId, ct);
                        return;
                    }
                    if (batch.NextDialAt > now)
                    {
                        if (await WaitOrLeaveAsync(batchId, name, run, batch.NextDialAt.Value, wakeup, ct)) return;
                        continue;
                    }
                    if (batch.Live < batch.MaxConcurrent)
                    {
                        // A slot is free and the pace allows a dial, yet no contact was reserved: no
                        // queued contact's calling window is open. Closed ones get their next window.
                        if (await windows.RollAsync(batchId, ct) is not { } opens || opens <= clock.GetUtcNow()) continue;
                        logger.LogInformation("Batch {BatchId}: every queued contact waits for its calling window; the next opens at {Opens:u}", batchId, opens);
                        if (await WaitOrLeaveAsync(batchId, name, run, opens, wakeup, ct)) return;
                        continue;
                    }
                    // Every slot busy: a call end wakes us; a batch full for long holds no worker.
                    fullSince ??= now;
                    if (now - fullSince > options.FullHold)
                    {
                        wakeup.Dispose();
                        if (await HandOffAsync(batchId, run, null, null, ct) is { Queued: > 0, SlotFree: true })
                            await ledger.EnsureJobAsync(batchId, ct);
                        return;
                    }
                    await wakeup.WaitAsync(options.SlotRecheck, ct);
                    continue;
                }
                fullSince = null;
                // A dial tells when the next slot is; far enough ahead, wait without asking again. A dial
                // under way is not cut short by a shutdown (the request has its own timeout): an
                // interrupted one would have to be looked up.
                var (next, created) = await DialAsync(batchId, batch, contact, CancellationToken.None);
                if (created is not null)
                {
                    if (batch.Queued > 0 && next - clock.GetUtcNow() <= RecordWithNextReservationWithin) unrecorded = created;
                    else await ledger.CreatedAsync(created, CancellationToken.None);
                }
                if (next > clock.GetUtcNow() + TimeSpan.FromMilliseconds(20) && await WaitOrLeaveAsync(batchId, name, run, next.Value, wakeup, ct))
                    return;
            }
        }
        catch when (unrecorded is not null)
        {
            // Stopped between a dial and the next reservation: the call is recorded before the batch goes back.
            await ledger.CreatedAsync(unrecorded, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Waits in-process for a near time (or a wake-up); a far one is a scheduled job instead. True when this run leaves.</summary>
    private async Task<bool> WaitOrLeaveAsync(long batchId, string name, string run, DateTimeOffset until, BatchWakeups.Registration wakeup,
        CancellationToken ct)
    {
        var wait = until - clock.GetUtcNow();
        if (wait <= options.HoldLimit)
        {
            await wakeup.WaitAsync(wait, ct);
            return false;
        }
        await HandOffToNewJobAsync(batchId, name, run, until, ct);
        return true;
    }

    private async Task HandOffToNewJobAsync(long batchId, string name, string run, DateTimeOffset? slot, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var next = jobs.DialBatch(batchId, name, slot - options.SchedulerLead is { } at && at > now ? at : null);
        await HandOffAsync(batchId, run, next, (slot ?? now) + options.DialerLease, ct);
    }

    /// <summary>What a batch has waiting when its dialer hands it on.</summary>
    private sealed record HandedOff(int Queued, bool SlotFree);

    /// <summary>Hands the batch to <paramref name="next"/> (a job id, or null for nobody); null if this run no longer had it.</summary>
    private async Task<HandedOff?> HandOffAsync(long batchId, string run, string? next, DateTimeOffset? leaseUntil, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.HandOffDialer);
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        command.Parameters.Add(new NpgsqlParameter { Value = run });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)next ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)leaseUntil ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new HandedOff(reader.GetInt32(0), reader.GetBoolean(1)) : null;
    }

    /// <summary>The batch's name and whether it had been handed to this very job; null when another dialer has it.</summary>
    private async Task<(string Name, bool HandedToThisJob)?> ClaimAsync(long batchId, string jobId, string run, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var now = clock.GetUtcNow();
            await using var command = dataSource.CreateCommand(CampaignSql.ClaimDialer);
            command.Parameters.Add(new NpgsqlParameter { Value = batchId });
            command.Parameters.Add(new NpgsqlParameter { Value = run });
            command.Parameters.Add(new NpgsqlParameter { Value = jobId });
            command.Parameters.Add(new NpgsqlParameter { Value = now + options.DialerLease });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            await using (var reader = await command.ExecuteReaderAsync(ct))
                if (await reader.ReadAsync(ct)) return (reader.GetString(0), reader.GetBoolean(1));
            if (attempt == ClaimRetries.Length) return null;
            await Task.Delay(ClaimRetries[attempt], clock, ct);
        }
    }

    /// <summary>
    /// Steps 2 and 3 of the dial protocol. Returns when the batch may dial next, if known, and a
    /// created call, which the caller records (step 3 of a created call).
    /// </summary>
    private async Task<(DateTimeOffset? Next, CreatedCall? Created)> DialAsync(long batchId, BatchState batch, ReservedContact contact, CancellationToken ct)
    {
        var setup = await directory.GetAsync(batch.AgencyId, batch.AgentMappingId, ct);
        if (setup.ApiKey is null || setup.AgentId is null || setup.FromNumber is null)
        {
            var reason = setup.ApiKey is null ? "the agency has no Ultravox API key" : "the batch has no valid agent mapping for its agency";
            await ledger.ReleaseAsync(contact, ct); // never dialled: its attempt is not spent
            await ledger.FailBatchAsync(batchId, reason, ct);
            logger.LogWarning("Batch {BatchId} failed: {Reason}", batchId, reason);
            throw new BatchCannotDialException(batchId, batch.Name, reason);
        }
        if (!PhoneNumber.IsE164(contact.PhoneNumber))
        {
            await ledger.RejectedAsync(batchId, contact.Id, $"invalid phone number '{PhoneNumber.Mask(contact.PhoneNumber)}': expected E.164 such as +14155550123", null, ct);
            metrics.Dial("ultravox", "invalid_number");
            return (null, null);
        }

        var request = new StartCallRequest(setup.ApiKey, setup.AgentId, contact.PhoneNumber, setup.FromNumber,
            new Dictionary<string, string>
            {
                ["batch_id"] = batchId.ToString(),
                ["contact_id"] = contact.Id.ToString(),
                ["attempt"] = contact.Attempt.ToString(),
            },
            TemplateContext(contact));
        var dialedAt = clock.GetUtcNow();
        var outcome = await ultravox.StartAgentCallAsync(request, ct);
        switch (outcome)
        {
            case CreateCallOutcome.Created created:
                metrics.Dial("ultravox", "created");
                return (batch.NextSlotAfterSend(dialedAt), new CreatedCall(contact, created.Call, dialedAt, clock.GetUtcNow()));
            case CreateCallOutcome.RateLimited limited:
                await ledger.RateLimitedAsync(batchId, contact, limited.RetryAfter, ct);
                metrics.Dial("ultravox", "rate_limited");
                logger.LogInformation("Ultravox rate-limited agency {AgencyId} ({Status}); waiting {RetryAfter}", batch.AgencyId, limited.Status, limited.RetryAfter);
                return (clock.GetUtcNow() + limited.RetryAfter, null);
            case CreateCallOutcome.Rejected rejected:
                await ledger.RejectedAsync(batchId, contact.Id, $"Ultravox refused the call ({rejected.Status}): {rejected.Body}", dialedAt, ct);
                metrics.Dial("ultravox", "rejected");
                return (null, null);
            case CreateCallOutcome.Unknown unknown:
                await ledger.UnknownAsync(contact, unknown.Reason, dialedAt, ct);
                metrics.Dial("ultravox", "unknown");
                logger.LogWarning("Dial of contact {ContactId} has an unknown outcome: {Reason}", contact.Id, unknown.Reason);
                return (null, null);
            default:
                throw new InvalidOperationException($"unexpected outcome {outcome}");
        }
    }

    /// <summary>The agent's prompt variables: the contact's own, plus its name.</summary>
    private static Dictionary<string, object?> TemplateContext(ReservedContact contact)
    {
        var context = JsonSerializer.Deserialize<Dictionary<string, object?>>(contact.VariablesJson) ?? [];
        if (contact.Name is not null) context["name"] = contact.Name;
        return context;
    }
}

/// <summary>A batch that cannot dial at all until an operator acts (e.g. sets the agency's Ultravox key, then requeues its job).</summary>
public sealed class BatchCannotDialException(long batchId, string batchName, string reason)
    : Exception($"Batch {batchId} ({batchName}) stopped: {reason}. Fix it, then Requeue this job to go on.");
