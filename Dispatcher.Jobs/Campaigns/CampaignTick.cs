using Npgsql;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// The recurring safety net of the seed's cron: starts due batches and gives a dial job to every
/// active batch that nobody dials (its job lost, its instance killed), at most MaxBatchesPerRun a
/// tick, the longest-undialled first; and makes the failed jobs of failed contacts the service
/// stopped before recording; and replaces dial jobs the engine left waiting in its queue while
/// workers were idle. Batches normally need no tick: creating, resuming and call ends
/// assign or wake their dial job.
/// </summary>
public sealed class CampaignTick(NpgsqlDataSource dataSource, ContactLedger ledger, BatchWaker waker, FailedCalls failedCalls, CampaignOptions options,
    TimeProvider clock)
{
    public async Task RunAsync(CancellationToken ct)
    {
        var due = new List<(long Id, string Name)>();
        await using (var command = dataSource.CreateCommand(CampaignSql.DueBatches))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
            command.Parameters.Add(new NpgsqlParameter { Value = options.MaxBatchesPerRun });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) due.Add((reader.GetInt64(0), reader.GetString(1)));
        }
        if (due.Count > 0) await ledger.StartAsync(due.Select(b => b.Id).ToList(), ct);
        foreach (var (id, name) in due) await waker.AssignAsync(id, name, ct);
        await waker.ReplaceStalledAsync(ct);
        await failedCalls.RecordMissingAsync(options.MaxBatchesPerRun, ct);
    }
}
