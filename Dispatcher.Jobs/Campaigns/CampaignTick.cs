using Dispatcher.Queue;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Campaigns;

public sealed record CampaignTickArgs;

/// <summary>
/// The recurring safety net of the seed's cron: starts due batches and makes sure every active
/// batch that has gone quiet has its process-batch job, least recently checked first, at most
/// MaxBatchesPerRun a tick; batches that are dialling are left alone.
/// Batches normally need no tick: creating, resuming and call ends enqueue or wake their job.
/// </summary>
public sealed class CampaignTickHandler(NpgsqlDataSource dataSource, ContactLedger ledger, JobClient jobs, CampaignOptions options, TimeProvider clock)
    : IJobHandler<CampaignTickArgs>
{
    public async Task<JobResult> RunAsync(JobContext<CampaignTickArgs> job, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var due = new List<long>();
        await using (var command = dataSource.CreateCommand(CampaignSql.DueBatches))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            command.Parameters.Add(new NpgsqlParameter { Value = options.MaxBatchesPerRun });
            command.Parameters.Add(new NpgsqlParameter { Value = now - options.QuietBatchAfter });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) due.Add(reader.GetInt64(0));
        }
        if (due.Count == 0) return JobResult.Completed;

        await ledger.StartAsync(due, ct);
        await jobs.EnqueueManyAsync(due.Select(id => ContactLedger.ProcessBatchRequest(id)).ToList(), ct);
        await using (var touch = dataSource.CreateCommand(CampaignSql.TouchBatches))
        {
            touch.Parameters.Add(new NpgsqlParameter { Value = due.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            touch.Parameters.Add(new NpgsqlParameter { Value = now });
            await touch.ExecuteNonQueryAsync(ct);
        }
        return JobResult.Completed;
    }
}
