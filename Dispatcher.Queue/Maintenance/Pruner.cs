using Dispatcher.Queue.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue.Maintenance;

/// <summary>Deletes finished jobs past their keep time, in small batches so no statement holds locks for long.</summary>
internal sealed class Pruner(NpgsqlDataSource dataSource, QueueOptions options, TimeProvider clock, ILogger<Pruner> logger)
    : MaintenanceService(clock, logger)
{
    private readonly JobSql _sql = new(options.Schema);

    protected override TimeSpan Interval => options.PruneInterval;

    public override async Task<TimeSpan> RunOnceAsync(CancellationToken ct)
    {
        var now = Clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var deleted = await PruneAsync(connection, JobState.Completed, now - options.KeepCompleted, ct)
            + await PruneAsync(connection, JobState.Discarded, now - options.KeepFailed, ct)
            + await PruneAsync(connection, JobState.Cancelled, now - options.KeepFailed, ct);
        if (deleted > 0) logger.LogInformation("Pruned {Count} finished jobs", deleted);

        await using var stats = new NpgsqlCommand(_sql.PruneStats, connection);
        stats.Parameters.Add(new NpgsqlParameter { Value = now - options.KeepStats });
        await stats.ExecuteNonQueryAsync(ct);
        return Interval;
    }

    private async Task<int> PruneAsync(NpgsqlConnection connection, JobState state, DateTimeOffset before, CancellationToken ct)
    {
        var total = 0;
        while (true)
        {
            await using var prune = new NpgsqlCommand(_sql.Prune, connection);
            prune.Parameters.Add(new NpgsqlParameter { Value = state.ToDb() });
            prune.Parameters.Add(new NpgsqlParameter { Value = before });
            prune.Parameters.Add(new NpgsqlParameter { Value = options.PruneBatchSize });
            var deleted = (int)(long)(await prune.ExecuteScalarAsync(ct))!;
            total += deleted;
            if (deleted < options.PruneBatchSize) return total;
        }
    }
}
