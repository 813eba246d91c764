using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Queue;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

public sealed record PlaceOnboardingCallArgs(long JobId, int Attempt);

/// <summary>
/// One call attempt of an onboarding row: creates the Twilio call whose TwiML and status
/// callbacks come back to this service. 429/20429/5xx are retried by the engine with backoff; a
/// definite rejection fails the row at once; a POST that timed out is settled by looking the
/// call up, never by dialling again blindly. How the call ends arrives by status callback.
/// </summary>
public sealed class PlaceOnboardingCallHandler(NpgsqlDataSource dataSource, TwilioClient twilio, OnboardingOptions options, DialMetrics metrics,
    TimeProvider clock, ILogger<PlaceOnboardingCallHandler> logger) : IJobHandler<PlaceOnboardingCallArgs>
{
    public async Task<JobResult> RunAsync(JobContext<PlaceOnboardingCallArgs> job, CancellationToken ct)
    {
        var (id, attempt) = (job.Args.JobId, job.Args.Attempt);
        var now = clock.GetUtcNow();
        // Claim the attempt: a queued row moves to dialing and counts it; a row already dialing
        // this attempt without a call (an engine retry, or an unknown outcome) carries on.
        await using var claim = dataSource.CreateCommand("""
            UPDATE outbound_call_jobs
            SET status = 'dialing', attempts = $2, last_sequence = NULL, last_call_status = NULL, updated_at = $3,
                twilio_call_sid = CASE WHEN status = 'queued' THEN NULL ELSE twilio_call_sid END
            WHERE id = $1 AND ((status = 'queued' AND attempts = $2 - 1) OR (status = 'dialing' AND attempts = $2 AND twilio_call_sid IS NULL))
            RETURNING phone_number, unknown_since
            """);
        claim.Parameters.Add(new NpgsqlParameter { Value = id });
        claim.Parameters.Add(new NpgsqlParameter { Value = attempt });
        claim.Parameters.Add(new NpgsqlParameter { Value = now });
        string phone;
        DateTimeOffset? unknownSince;
        await using (var reader = await claim.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct)) return JobResult.Completed; // settled, cancelled or superseded
            (phone, unknownSince) = (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
        }

        if (unknownSince is { } since)
        {
            IReadOnlyList<TwilioCall> calls;
            try { calls = await twilio.FindCallsAsync(phone, since - TimeSpan.FromMinutes(1), ct); }
            catch (TwilioException)
            {
                metrics.ProviderError("twilio", "lookup_failed");
                throw;
            }
            var found = calls.OrderBy(c => c.StartTime).FirstOrDefault();
            if (found is not null)
            {
                await RecordAsync(RecordSid, ct, id, attempt, found.Sid, found.Status, clock.GetUtcNow());
                return JobResult.Completed;
            }
            if (clock.GetUtcNow() - since < options.UnknownCallGrace) return JobResult.Snooze(options.UnknownCallRecheck);
            logger.LogInformation("No Twilio call found for onboarding job {JobId} after {Grace}; dialling", id, options.UnknownCallGrace);
        }

        var outcome = await twilio.CreateCallAsync(new CreateTwilioCall(phone, options.TwimlUrl(id), options.StatusCallbackUrl(id, attempt),
            options.MachineDetection, options.RingTimeoutSeconds), ct);
        switch (outcome)
        {
            case TwilioCallOutcome.Created created:
                metrics.Dial("twilio", "created");
                await RecordAsync(RecordSid, ct, id, attempt, created.Call.Sid, created.Call.Status, clock.GetUtcNow());
                return JobResult.Completed;
            case TwilioCallOutcome.Rejected rejected:
                metrics.Dial("twilio", "rejected");
                await RecordAsync("UPDATE outbound_call_jobs SET status = 'failed', unknown_since = NULL, last_error = $2, updated_at = $3 WHERE id = $1",
                    ct, id, $"Twilio refused the call: {rejected.Code?.ToString() ?? rejected.Status.ToString()} {rejected.Message}", clock.GetUtcNow());
                return JobResult.Completed;
            case TwilioCallOutcome.Retryable retryable when job.IsLastAttempt:
                metrics.Dial("twilio", "retryable");
                await RecordAsync("UPDATE outbound_call_jobs SET status = 'failed', last_error = $2, updated_at = $3 WHERE id = $1",
                    ct, id, $"Twilio kept answering {retryable.Code?.ToString() ?? retryable.Status.ToString()}: {retryable.Message}", clock.GetUtcNow());
                return JobResult.Completed;
            case TwilioCallOutcome.Retryable retryable:
                metrics.Dial("twilio", "retryable");
                // The engine retries with backoff; Retry-After, when given, is the least we wait.
                if (retryable.RetryAfter is { } wait) return JobResult.Snooze(wait);
                throw new TwilioBusyException($"Twilio answered {retryable.Status} ({retryable.Code}): {retryable.Message}");
            case TwilioCallOutcome.Unknown unknown:
                metrics.Dial("twilio", "unknown");
                await RecordAsync("UPDATE outbound_call_jobs SET unknown_since = coalesce(unknown_since, $2), last_error = $3, updated_at = $2 WHERE id = $1",
                    ct, id, clock.GetUtcNow(), $"outcome unknown ({unknown.Reason}); looking the call up before dialling again");
                return JobResult.Snooze(options.UnknownCallRecheck);
            default:
                throw new InvalidOperationException($"unexpected outcome {outcome}");
        }
    }

    // Callbacks may have come first and moved the row on already: keep what they wrote.
    private const string RecordSid = """
        UPDATE outbound_call_jobs
        SET twilio_call_sid = coalesce(twilio_call_sid, $3), last_call_status = coalesce(last_call_status, $4),
            unknown_since = NULL, last_error = CASE WHEN status = 'dialing' THEN NULL ELSE last_error END, updated_at = $5
        WHERE id = $1 AND attempts = $2
        """;

    private async Task RecordAsync(string sql, CancellationToken ct, params object[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        await command.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>Twilio asked us to come back later; the engine's retry policy decides when.</summary>
public sealed class TwilioBusyException(string message) : Exception(message);
