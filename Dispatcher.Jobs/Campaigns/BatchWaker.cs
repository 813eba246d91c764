using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// Makes sure a batch with something to dial has a dial job, and that the job notices: the
/// running one is woken, a scheduled one runs now, and a batch nobody dials gets a new job. The
/// batch row names its dialer, so a job made twice (two wakers at once) stands down.
/// </summary>
public sealed class BatchWaker(NpgsqlDataSource dataSource, ICampaignJobs jobs, BatchWakeups wakeups, CampaignOptions options, TimeProvider clock,
    ILogger<BatchWaker> logger)
{
    public async Task WakeAsync(long batchId, CancellationToken ct)
    {
        if (wakeups.WakeLocal(batchId)) return;
        string? dialer;
        DateTimeOffset? leaseUntil;
        string name;
        await using (var command = dataSource.CreateCommand(CampaignSql.DialerOf))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = batchId });
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return;
            (dialer, leaseUntil, name) = (reader.IsDBNull(0) ? null : reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(3));
        }
        if (dialer is not null && leaseUntil > clock.GetUtcNow())
        {
            // Handed to a job that has not started: run it now if it waits for its time. Running
            // elsewhere: wake it there.
            if (!dialer.Contains('/') && jobs.RunNow(dialer)) return;
            await wakeups.WakeAsync(batchId, ct);
            return;
        }
        await AssignAsync(batchId, name, ct);
    }

    /// <summary>
    /// Replaces the dial jobs the engine left waiting in its queue while workers were idle (a missed
    /// wake-up), so their batches start now rather than when the job's lease runs out. Returns how many.
    /// </summary>
    public async Task<int> ReplaceStalledAsync(CancellationToken ct)
    {
        var stalled = await jobs.StalledAsync(options.StallAfter, ct);
        if (stalled.Count == 0) return 0;
        var waiting = new List<(long Id, string Name, string Job)>();
        await using (var command = dataSource.CreateCommand(CampaignSql.BatchesOfDialers))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = stalled.ToArray() });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) waiting.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }
        var replaced = 0;
        foreach (var (id, name, job) in waiting)
        {
            if (jobs.ReplaceWaiting(job, id, name) is not { } next) continue; // it started meanwhile
            await using var command = dataSource.CreateCommand(CampaignSql.SupersedeDialer);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = job });
            command.Parameters.Add(new NpgsqlParameter { Value = next });
            command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() + options.DialerLease });
            if (await command.ExecuteNonQueryAsync(ct) != 1)
            {
                jobs.Retire(next); // the batch moved on meanwhile (cancelled, completed, given another dialer)
                continue;
            }
            replaced++;
            logger.LogWarning("Dial job {JobId} of batch {BatchId} waited in the queue with campaigns workers idle (a missed wake-up); replaced by job {NextJobId}",
                job, id, next);
        }
        return replaced;
    }

    /// <summary>A new dial job for a batch nobody dials; it becomes the batch's dialer unless another got there first.</summary>
    public async Task AssignAsync(long batchId, string batchName, CancellationToken ct, DateTimeOffset? at = null)
    {
        var jobId = jobs.DialBatch(batchId, batchName, at);
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand(CampaignSql.AdoptDialer);
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        command.Parameters.Add(new NpgsqlParameter { Value = (at > now ? at.Value : now) + options.DialerLease, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        // Not adopted: another job dials or is on its way, and this one stands down when it runs.
        await command.ExecuteNonQueryAsync(ct);
    }
}
