using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// A contact whose call failed for good stands in Hangfire's Failed list as a failed job with a
/// reason an operator understands. Requeue on that job places the call again, once however often
/// it is clicked; the batch's own "retry failed" and its cancellation take such jobs off the list.
/// </summary>
public sealed class FailedCalls(NpgsqlDataSource dataSource, ICampaignJobs jobs, BatchWaker waker, TimeProvider clock, ILogger<FailedCalls> logger)
{
    /// <summary>Makes the failed job of a contact that has just failed, unless it has one.</summary>
    public async Task RecordAsync(long contactId, CancellationToken ct)
    {
        string label, reason;
        long batchId;
        await using (var command = dataSource.CreateCommand(CampaignSql.FailedContact))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = contactId });
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return;
            (var attempts, var allowed, var error, batchId, var batchName) = (reader.GetInt32(0), reader.GetInt32(1), reader.IsDBNull(2) ? "failed" : reader.GetString(2),
                reader.GetInt64(3), reader.GetString(4));
            label = $"contact {contactId} · batch {batchId} {batchName}";
            reason = PhoneNumber.MaskIn($"{error} (attempt {attempts} of {allowed}); no attempt left. Requeue to call again.");
        }
        var jobId = jobs.FailedCall(contactId, label, reason);
        logger.LogInformation("Contact {ContactId} of batch {BatchId} failed for good: {Reason} Its failed job is {JobId}", contactId, batchId, reason, jobId);
        await using var record = dataSource.CreateCommand(CampaignSql.RecordFailedJob);
        record.Parameters.Add(new NpgsqlParameter { Value = contactId });
        record.Parameters.Add(new NpgsqlParameter { Value = jobId });
        // Another instance recorded one first, or the contact was retried meanwhile.
        if (await record.ExecuteNonQueryAsync(ct) == 0) jobs.Retire(jobId);
    }

    /// <summary>Failed contacts the service stopped before recording, for the tick; returns how many.</summary>
    public async Task<int> RecordMissingAsync(int limit, CancellationToken ct)
    {
        var ids = new List<long>();
        await using (var command = dataSource.CreateCommand(CampaignSql.FailedWithoutJob))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = limit });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) ids.Add(reader.GetInt64(0));
        }
        foreach (var id in ids) await RecordAsync(id, ct);
        return ids.Count;
    }

    /// <summary>
    /// The operator requeued <paramref name="jobId"/>: its contact waits for a dial again with one
    /// more attempt, and its batch's dialer is woken. False when the job no longer stands for a
    /// failed contact (clicked twice, retried another way, or its batch cancelled).
    /// </summary>
    public async Task<bool> RequeueAsync(long contactId, string jobId, string? requeuedBy, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.RequeueFailedContact);
        command.Parameters.Add(new NpgsqlParameter { Value = contactId });
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)requeuedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        if (await command.ExecuteScalarAsync(ct) is not long batchId) return false;
        await waker.WakeAsync(batchId, ct);
        return true;
    }

    /// <summary>
    /// Requeue of one failed contact of a batch from the batch's page: as Requeue on its failed job,
    /// and that job leaves the Failed list. False when the contact is not a failed one of that batch
    /// (clicked twice, retried another way), or its failed job is not made yet.
    /// </summary>
    public async Task<bool> RequeueContactAsync(long batchId, long contactId, string requeuedBy, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.FailedJobOfContact);
        command.Parameters.Add(new NpgsqlParameter { Value = contactId });
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        if (await command.ExecuteScalarAsync(ct) is not string jobId || !await RequeueAsync(contactId, jobId, requeuedBy, ct)) return false;
        jobs.Retire(jobId);
        return true;
    }

    /// <summary>The failed jobs of a batch's failed contacts leave the Failed list (the batch was cancelled).</summary>
    public async Task RetireBatchAsync(long batchId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.FailedJobsOfBatch);
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        var jobIds = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) jobIds.Add(reader.GetString(0));
        foreach (var jobId in jobIds) jobs.Retire(jobId);
    }
}
