using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>
/// Gives outbound_call_jobs rows their call job, after the row committed (the row is the truth, an
/// outbox): a row is first taken for enqueueing (dispatched_at, a lease, so one taker enqueues it),
/// then its job is enqueued and the job id recorded. If the process dies in between, the lease runs
/// out and the next pass takes the row again.
/// </summary>
public sealed class OnboardingDispatcher(NpgsqlDataSource dataSource, IOnboardingJobs jobs, OnboardingOptions options, TimeProvider clock,
    ILogger<OnboardingDispatcher> logger)
{
    public const string Channel = "outbound_call_jobs";

    /// <summary>Enqueues of one pass at once; each holds a connection of Hangfire's storage meanwhile.</summary>
    private const int ParallelEnqueues = 8;

    /// <summary>
    /// One pass, at most CALL_DISPATCHER_LIMIT rows: queued rows without a job, and queued rows whose
    /// next attempt is overdue by a lease (the move of their job was lost). Instances share the work
    /// through row locks. Returns how many rows got their job.
    /// </summary>
    public async Task<int> PassAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand("""
            UPDATE outbound_call_jobs SET dispatched_at = $2
            WHERE id IN (
                SELECT id FROM outbound_call_jobs
                WHERE status = 'queued' AND (dispatched_at IS NULL OR dispatched_at < $2 - $3)
                  AND (hangfire_job_id IS NULL OR next_attempt_at < $2 - $3)
                ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING id, user_id, hangfire_job_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = options.DispatchLimit });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = options.EnqueueLease });
        return await EnqueueAsync(await ReadAsync(command, ct), ct);
    }

    /// <summary>The row a signup just committed gets its job at once, unless another instance's pass took it first.</summary>
    public async Task DispatchAsync(long id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE outbound_call_jobs SET dispatched_at = $2
            WHERE id = $1 AND status = 'queued' AND hangfire_job_id IS NULL AND dispatched_at IS NULL
            RETURNING id, user_id, hangfire_job_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        await EnqueueAsync(await ReadAsync(command, ct), ct);
    }

    /// <summary>Enqueues each taken row's job and records the job ids on the rows. Returns how many.</summary>
    public async Task<int> EnqueueAsync(IReadOnlyList<OnboardingCallToEnqueue> calls, CancellationToken ct)
    {
        if (calls.Count == 0) return 0;
        // Each enqueue is a few synchronous statements: a pass's rows go side by side, so a burst of signups does not queue up behind them.
        var jobIds = new string[calls.Count];
        await Parallel.ForAsync(0, calls.Count, new ParallelOptions { MaxDegreeOfParallelism = ParallelEnqueues },
            (i, _) => { jobIds[i] = jobs.Enqueue(calls[i]); return ValueTask.CompletedTask; });
        // The job may have run already and recorded itself: keep what is there.
        await using var record = dataSource.CreateCommand("""
            UPDATE outbound_call_jobs o SET hangfire_job_id = coalesce(o.hangfire_job_id, r.job_id)
            FROM unnest($1::bigint[], $2::text[]) AS r(id, job_id) WHERE o.id = r.id
            """);
        record.Parameters.Add(new NpgsqlParameter { Value = calls.Select(c => c.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        record.Parameters.Add(new NpgsqlParameter { Value = jobIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await record.ExecuteNonQueryAsync(CancellationToken.None); // the jobs exist now: record them even when asked to stop
        logger.LogDebug("Enqueued call jobs for onboarding rows {Ids}", string.Join(", ", calls.Select(c => c.Id)));
        return calls.Count;
    }

    /// <summary>Rows of (id, user_id, hangfire_job_id).</summary>
    public static async Task<List<OnboardingCallToEnqueue>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var calls = new List<OnboardingCallToEnqueue>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            calls.Add(new OnboardingCallToEnqueue(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        return calls;
    }
}
