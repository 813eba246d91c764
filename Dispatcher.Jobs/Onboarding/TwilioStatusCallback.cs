using Dispatcher.Jobs.Campaigns;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

public enum CallbackResult { Applied, Ignored, BadRequest }

/// <summary>
/// Twilio's status callbacks for onboarding calls, their signature already checked by the host.
/// A callback older than one already applied (SequenceNumber) changes nothing. Terminal statuses finish the
/// row; busy, no-answer and failed move the row's job to Scheduled after backoff while attempts remain,
/// else to Failed with the attempts' outcomes as its reason.
/// </summary>
public sealed class TwilioStatusCallback(NpgsqlDataSource dataSource, IOnboardingJobs jobs, OnboardingOptions options,
    DialMetrics metrics, TimeProvider clock, ILogger<TwilioStatusCallback> logger)
{
    private static readonly HashSet<string> Unanswered = ["busy", "no-answer", "failed", "canceled"];

    /// <summary><paramref name="jobId"/> and <paramref name="attempt"/> come from the callback URL we gave Twilio.</summary>
    public async Task<(CallbackResult Result, string Detail)> HandleAsync(long jobId, int attempt, IReadOnlyList<KeyValuePair<string, string>> form,
        CancellationToken ct)
    {
        string? Field(string name) => form.FirstOrDefault(p => p.Key == name).Value;
        var (sid, status) = (Field("CallSid"), Field("CallStatus"));
        if (sid is null || status is null) return (CallbackResult.BadRequest, "CallSid and CallStatus are required");
        var sequence = int.TryParse(Field("SequenceNumber"), out var n) ? n : 0;

        await using var update = dataSource.CreateCommand("""
            UPDATE outbound_call_jobs
            SET twilio_call_sid = $1, last_sequence = $3, last_call_status = $2, updated_at = $4,
                status = CASE
                    WHEN $2 = 'completed' THEN 'completed'
                    WHEN $2 IN ('busy', 'no-answer', 'failed', 'canceled') THEN CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END
                    WHEN $2 = 'ringing' THEN 'ringing'
                    WHEN $2 IN ('in-progress', 'answered') THEN 'in_progress'
                    ELSE status END,
                next_attempt_at = CASE WHEN $2 IN ('busy', 'no-answer', 'failed', 'canceled') AND attempts < max_attempts
                                       THEN $4 + make_interval(secs => $5 * power(2, attempts - 1)) END,
                attempt_outcomes = CASE WHEN $2 IN ('busy', 'no-answer', 'failed', 'canceled') THEN attempt_outcomes || $2 ELSE attempt_outcomes END,
                claim_token = NULL, unknown_since = NULL,
                last_error = CASE WHEN $2 IN ('busy', 'no-answer', 'failed', 'canceled') THEN 'call ' || $2 || ' (attempt ' || attempts || ' of ' || max_attempts || ')'
                                  WHEN $2 = 'completed' THEN NULL ELSE last_error END
            WHERE id = $6 AND attempts = $7 AND (twilio_call_sid IS NULL OR twilio_call_sid = $1)
              AND (last_sequence IS NULL OR last_sequence < $3)
              AND status NOT IN ('queued', 'completed', 'failed', 'cancelled')
            RETURNING status, attempts, max_attempts, next_attempt_at, hangfire_job_id, attempt_outcomes
            """);
        update.Parameters.Add(new NpgsqlParameter { Value = sid });
        update.Parameters.Add(new NpgsqlParameter { Value = status });
        update.Parameters.Add(new NpgsqlParameter { Value = sequence });
        update.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        update.Parameters.Add(new NpgsqlParameter { Value = options.RetryBase.TotalSeconds });
        update.Parameters.Add(new NpgsqlParameter { Value = jobId });
        update.Parameters.Add(new NpgsqlParameter { Value = attempt });
        string rowStatus;
        int attempts, maxAttempts;
        DateTimeOffset? next;
        string? owner;
        string[] outcomes;
        await using (var reader = await update.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                metrics.Webhook("twilio", "ignored");
                logger.LogInformation("Status {Status} (#{Sequence}) for call {CallSid} changed nothing: unknown call, settled row or older callback", status, sequence, sid);
                return (CallbackResult.Ignored, "nothing to change");
            }
            (rowStatus, attempts, maxAttempts, next, owner, outcomes) = (reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetFieldValue<string[]>(5));
        }
        // The row is committed: now its job follows (a lost move is made up by onboarding-dispatch for a queued row).
        if (owner is not null && Unanswered.Contains(status))
        {
            if (rowStatus == "queued" && next is { } at)
                jobs.ScheduleNextAttempt(owner, at, $"Attempt {attempts} of {maxAttempts}: {status}; next attempt in {(at - clock.GetUtcNow()).TotalSeconds:0} s");
            else if (rowStatus == "failed")
                jobs.Fail(owner, $"No answer on {attempts} attempt{(attempts == 1 ? "" : "s")} ({string.Join(", ", outcomes)}); last Twilio status {status}");
        }
        metrics.Webhook("twilio", "applied");
        return (CallbackResult.Applied, rowStatus);
    }
}
