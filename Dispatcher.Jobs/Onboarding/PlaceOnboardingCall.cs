using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Jobs.Telephony;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>What one performance of a row's call job came to.</summary>
public enum CallPlacement
{
    /// <summary>Twilio created the call; how it ends arrives by status callback.</summary>
    Placed,
    /// <summary>An earlier performance's call was found by look-up: not dialled again.</summary>
    FoundByLookUp,
    /// <summary>Twilio refused the call for good; the row and the job are failed.</summary>
    Rejected,
    /// <summary>The row was not waiting for this job (settled, cancelled, or another job's): nothing done.</summary>
    StoodDown,
    /// <summary>The number is on a do-not-call list: the row is suppressed, nobody called.</summary>
    Suppressed,
    /// <summary>A stop holds it, or the signup's calling window is closed: the job runs again later, no attempt spent.</summary>
    Waiting,
}

/// <summary>
/// One call attempt of an onboarding row, performed by the row's job (which Hangfire may perform
/// more than once, even at the same time). The attempt is claimed against the row in one statement,
/// so only one performance dials; an attempt whose POST may have reached Twilio is looked up, never
/// dialled again blindly. 429/20429/503 put the attempt back unspent and throw for the engine's
/// retry; a timeout or another 5xx throws too, and the retry looks the call up first.
/// </summary>
public sealed class PlaceOnboardingCall(NpgsqlDataSource dataSource, TwilioCalls twilio, IOnboardingJobs jobs, OnboardingOptions options,
    OnboardingGate gate, DialMetrics metrics, TimeProvider clock, ILogger<PlaceOnboardingCall> logger)
{
    public async Task<CallPlacement> RunAsync(long id, string jobId, CancellationToken ct)
    {
        switch (await gate.JudgeAsync(id, ct))
        {
            case OnboardingVerdict.Suppressed:
                logger.LogInformation("Onboarding call {Id}: the number is on a do-not-call list; suppressed, not called", id);
                return CallPlacement.Suppressed;
            case OnboardingVerdict.Wait wait:
                // The row waits for its job, which runs again then (onboarding-dispatch re-enqueues it should that move be lost).
                await ExecuteAsync("UPDATE outbound_call_jobs SET next_attempt_at = $2, updated_at = $3 WHERE id = $1 AND status = 'queued'",
                    id, wait.At, clock.GetUtcNow());
                jobs.ScheduleNextAttempt(jobId, wait.At, $"Onboarding call {id} {wait.Reason}; looking again at {wait.At:u}");
                logger.LogInformation("Onboarding call {Id} {Reason}; job {JobId} runs again at {At:u}", id, wait.Reason, jobId, wait.At);
                return CallPlacement.Waiting;
        }
        var token = Guid.NewGuid();
        // Once started, an attempt runs to a known outcome: Hangfire cancels a performance whose job
        // was moved meanwhile (a status callback may move it while the previous performance is still
        // finishing), and a claim or POST cut short would leave the row waiting for nobody. Both are
        // bounded (one statement; Twilio's request timeout).
        var claim = await ClaimAsync(id, jobId, token, CancellationToken.None);
        if (claim is null) return await StandDownAsync(id, jobId, ct);
        var (phone, attempt, takeover, unknownSince) = claim.Value;

        if (takeover)
        {
            // An earlier performance may have placed this attempt's call: find it before anything else.
            IReadOnlyList<TwilioCall> calls;
            try { calls = await twilio.FindCallsAsync(phone, unknownSince - TimeSpan.FromMinutes(1), ct); }
            catch (TwilioException)
            {
                metrics.ProviderError("twilio", "lookup_failed");
                await ReleaseAsync(id, token, null);
                throw;
            }
            if (calls.OrderBy(c => c.StartTime).FirstOrDefault() is { } found)
            {
                await RecordSidAsync(id, attempt, found.Sid, found.Status);
                logger.LogInformation("Onboarding call {Id} attempt {Attempt}: found call {CallSid} by look-up; not dialling again", id, attempt, found.Sid);
                return CallPlacement.FoundByLookUp;
            }
            if (clock.GetUtcNow() - unknownSince < options.UnknownCallGrace)
            {
                await ReleaseAsync(id, token, null);
                throw new CallOutcomeUnknownException($"No Twilio call found yet for attempt {attempt}, whose request may have reached Twilio; looking again before dialling");
            }
            logger.LogInformation("Onboarding call {Id} attempt {Attempt}: no Twilio call found after {Grace}; dialling", id, attempt, options.UnknownCallGrace);
        }

        var outcome = await twilio.CreateCallAsync(new CreateTwilioCall(phone, options.TwimlUrl(id), options.StatusCallbackUrl(id, attempt),
            options.MachineDetection, options.RingTimeoutSeconds), CancellationToken.None);
        // From here on the call may exist: what is learnt is written even when the job is being stopped.
        switch (outcome)
        {
            case TwilioCallOutcome.Created created:
                metrics.Dial("twilio", "created");
                await RecordSidAsync(id, attempt, created.Call.Sid, created.Call.Status);
                return CallPlacement.Placed;
            case TwilioCallOutcome.Rejected rejected:
                metrics.Dial("twilio", "rejected");
                var reason = PhoneNumber.MaskIn($"Twilio refused the call: {rejected.Code?.ToString() ?? $"status {rejected.Status}"} {rejected.Message}");
                await ExecuteAsync("""
                    UPDATE outbound_call_jobs SET status = 'failed', claim_token = NULL, unknown_since = NULL, last_error = $3, updated_at = $4
                    WHERE id = $1 AND claim_token = $2
                    """, id, token, reason, clock.GetUtcNow());
                jobs.Fail(jobId, reason);
                logger.LogInformation("Onboarding call {Id} attempt {Attempt}: {Reason}", id, attempt, reason);
                return CallPlacement.Rejected;
            case TwilioCallOutcome.Retryable retryable:
                metrics.Dial("twilio", "retryable");
                var busy = $"Twilio answered {retryable.Status}{(retryable.Code is { } code ? $" (code {code})" : "")}: {PhoneNumber.MaskIn(retryable.Message)}; no call was placed";
                // Twilio did nothing: the attempt is not spent.
                await ExecuteAsync("""
                    UPDATE outbound_call_jobs SET status = 'queued', attempts = attempts - 1, claim_token = NULL, unknown_since = NULL, last_error = $3, updated_at = $4
                    WHERE id = $1 AND claim_token = $2
                    """, id, token, busy, clock.GetUtcNow());
                throw new ProviderBusyException(busy, retryable.RetryAfter);
            case TwilioCallOutcome.Unknown unknown:
                metrics.Dial("twilio", "unknown");
                var why = $"outcome of attempt {attempt} unknown ({unknown.Reason}); looking the call up before dialling again";
                await ReleaseAsync(id, token, why);
                throw new CallOutcomeUnknownException(why);
            default:
                throw new InvalidOperationException($"unexpected outcome {outcome}");
        }
    }

    /// <summary>
    /// In one statement: a queued row owned by this job (or by none) starts its next attempt; an
    /// attempt of this job left without a call (let go after an unknown outcome, or held by a
    /// performance that died) is taken over. Null when the row is not waiting for this job.
    /// unknown_since marks from when the attempt's POST may have reached Twilio.
    /// </summary>
    private async Task<(string Phone, int Attempt, bool Takeover, DateTimeOffset UnknownSince)?> ClaimAsync(long id, string jobId, Guid token,
        CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            WITH before AS (SELECT id, status FROM outbound_call_jobs WHERE id = $1 FOR UPDATE)
            UPDATE outbound_call_jobs o
            SET status = 'dialing', claim_token = $3, hangfire_job_id = $2, updated_at = $4, next_attempt_at = NULL,
                attempts = CASE WHEN before.status = 'queued' THEN o.attempts + 1 ELSE o.attempts END,
                unknown_since = CASE WHEN before.status = 'queued' THEN $4 ELSE o.unknown_since END,
                twilio_call_sid = CASE WHEN before.status = 'queued' THEN NULL ELSE o.twilio_call_sid END,
                last_sequence = CASE WHEN before.status = 'queued' THEN NULL ELSE o.last_sequence END,
                last_call_status = CASE WHEN before.status = 'queued' THEN NULL ELSE o.last_call_status END
            FROM before
            WHERE o.id = before.id AND (o.hangfire_job_id IS NULL OR o.hangfire_job_id = $2)
              AND (o.status = 'queued'
                   OR (o.status = 'dialing' AND o.twilio_call_sid IS NULL AND (o.claim_token IS NULL OR o.unknown_since < $4 - $5)))
            RETURNING o.phone_number, o.attempts, before.status = 'dialing', o.unknown_since
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        command.Parameters.Add(new NpgsqlParameter { Value = token });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter { Value = options.AbandonedClaimAfter });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return (reader.GetString(0), reader.GetInt32(1), reader.GetBoolean(2), reader.GetFieldValue<DateTimeOffset>(3));
    }

    /// <summary>
    /// Says why nothing was done. An attempt of this job that another performance is dialling right
    /// now is not settled yet: that throws, so the engine looks again later (had that performance died,
    /// its attempt is then taken over).
    /// </summary>
    private async Task<CallPlacement> StandDownAsync(long id, string jobId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT status, attempts, hangfire_job_id, twilio_call_sid IS NULL AND claim_token IS NOT NULL FROM outbound_call_jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            logger.LogInformation("Onboarding call {Id} does not exist; job {JobId} stands down", id, jobId);
            return CallPlacement.StoodDown;
        }
        var (status, attempts, owner, dialling) = (reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3));
        if (owner == jobId && status == "dialing" && dialling)
            throw new CallOutcomeUnknownException($"Attempt {attempts} is being dialled by another performance of this job; looking again later");
        logger.LogInformation("Onboarding call {Id} is {Status} after {Attempts} attempt(s){Owner}: not waiting for job {JobId}, which stands down",
            id, status, attempts, owner is not null && owner != jobId ? $" and owned by job {owner}" : "", jobId);
        return CallPlacement.StoodDown;
    }

    /// <summary>Lets go of the attempt without a call sid: the next performance looks the call up first.</summary>
    private Task ReleaseAsync(long id, Guid token, string? error) => ExecuteAsync("""
        UPDATE outbound_call_jobs SET claim_token = NULL, last_error = coalesce($3, last_error), updated_at = $4 WHERE id = $1 AND claim_token = $2
        """, id, token, (object?)error ?? DBNull.Value, clock.GetUtcNow());

    // Callbacks may have come first and moved the row on already: keep what they wrote.
    private Task RecordSidAsync(long id, int attempt, string sid, string status) => ExecuteAsync("""
        UPDATE outbound_call_jobs
        SET twilio_call_sid = coalesce(twilio_call_sid, $3), last_call_status = coalesce(last_call_status, $4), claim_token = NULL,
            unknown_since = NULL, last_error = CASE WHEN status = 'dialing' THEN NULL ELSE last_error END, updated_at = $5
        WHERE id = $1 AND attempts = $2
        """, id, attempt, sid, status, clock.GetUtcNow());

    private async Task ExecuteAsync(string sql, params object[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(value is DBNull ? new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } : new NpgsqlParameter { Value = value });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }
}
