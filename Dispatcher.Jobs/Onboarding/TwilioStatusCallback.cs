using Dispatcher.Jobs.Campaigns;
using Dispatcher.Queue;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

public enum CallbackResult { Applied, Ignored, BadRequest }

/// <summary>
/// Twilio's status callbacks for onboarding calls, their signature already checked by the host.
/// A callback older than one already applied (SequenceNumber) changes nothing. Terminal statuses finish the
/// row, or schedule the next attempt after backoff while attempts remain.
/// </summary>
public sealed class TwilioStatusCallback(NpgsqlDataSource dataSource, JobClient jobs, OnboardingOptions options,
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

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var update = new NpgsqlCommand("""
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
                dispatched_at = CASE WHEN $2 IN ('busy', 'no-answer', 'failed', 'canceled') AND attempts < max_attempts THEN $4 ELSE dispatched_at END,
                last_error = CASE WHEN $2 IN ('busy', 'no-answer', 'failed', 'canceled') THEN 'call ' || $2 || ' (attempt ' || attempts || ' of ' || max_attempts || ')'
                                  WHEN $2 = 'completed' THEN NULL ELSE last_error END
            WHERE id = $6 AND attempts = $7 AND (twilio_call_sid IS NULL OR twilio_call_sid = $1)
              AND (last_sequence IS NULL OR last_sequence < $3)
              AND status NOT IN ('queued', 'completed', 'failed', 'cancelled')
            RETURNING id, status, attempts, next_attempt_at
            """, connection, tx);
        update.Parameters.Add(new NpgsqlParameter { Value = sid });
        update.Parameters.Add(new NpgsqlParameter { Value = status });
        update.Parameters.Add(new NpgsqlParameter { Value = sequence });
        update.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        update.Parameters.Add(new NpgsqlParameter { Value = options.RetryBase.TotalSeconds });
        update.Parameters.Add(new NpgsqlParameter { Value = jobId });
        update.Parameters.Add(new NpgsqlParameter { Value = attempt });
        long id;
        string rowStatus;
        int attempts;
        DateTimeOffset? next;
        await using (var reader = await update.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                metrics.Webhook("twilio", "ignored");
                logger.LogInformation("Status {Status} (#{Sequence}) for call {CallSid} changed nothing: unknown call, settled row or older callback", status, sequence, sid);
                return (CallbackResult.Ignored, "nothing to change");
            }
            (id, rowStatus, attempts, next) = (reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
        }
        if (rowStatus == "queued" && Unanswered.Contains(status))
            await jobs.EnqueueManyAsync(tx, [OnboardingDispatcher.CallRequest(id, attempts + 1, next)], ct);
        await tx.CommitAsync(ct);
        metrics.Webhook("twilio", "applied");
        return (CallbackResult.Applied, rowStatus);
    }
}
