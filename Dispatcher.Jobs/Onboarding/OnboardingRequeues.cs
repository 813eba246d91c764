using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>
/// An operator's decision to call a failed signup again: the row is queued again with one more
/// attempt allowed, even past max_attempts or inside the dedupe hour, and the requeue recorded.
/// </summary>
public sealed class OnboardingRequeues(NpgsqlDataSource dataSource, TimeProvider clock)
{
    /// <summary>At most this many attempts in all (the table's limit).</summary>
    public const int MaxAttempts = 10;

    /// <summary>
    /// Reopens the failed rows given (all failed rows when <paramref name="ids"/> is null; only those
    /// owned by <paramref name="jobId"/> or by no job when given). Rows that are not failed are left
    /// as they are, so a second requeue changes nothing. Returns the reopened rows, taken for enqueueing.
    /// </summary>
    public async Task<List<OnboardingCallToEnqueue>> ReopenAsync(IReadOnlyCollection<long>? ids, string? jobId, string requestedBy, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE outbound_call_jobs
            SET status = 'queued', max_attempts = greatest(max_attempts, attempts + 1), last_error = NULL, next_attempt_at = NULL,
                unknown_since = NULL, claim_token = NULL, requeued_at = $2, requeued_by = $3, dispatched_at = $2, updated_at = $2
            WHERE status = 'failed' AND attempts < {MaxAttempts} AND ($1::bigint[] IS NULL OR id = ANY ($1))
              AND ($4::text IS NULL OR hangfire_job_id IS NULL OR hangfire_job_id = $4)
            RETURNING id, user_id, hangfire_job_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)ids?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter { Value = requestedBy });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)jobId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await OnboardingDispatcher.ReadAsync(command, ct);
    }
}
