using Dispatcher.Queue.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue.Maintenance;

/// <summary>
/// Rescues the running jobs of workers that stopped heartbeating (crashed, killed). Unlike a
/// time-based rescuer, it never touches a live worker's job, however long that job runs.
/// </summary>
internal sealed class Rescuer(NpgsqlDataSource dataSource, QueueOptions options, TimeProvider clock, ILogger<Rescuer> logger)
    : MaintenanceService(clock, logger)
{
    private readonly JobSql _sql = new(options.Schema);

    protected override TimeSpan Interval => options.RescueInterval;

    public override async Task<TimeSpan> RunOnceAsync(CancellationToken ct)
    {
        var now = Clock.GetUtcNow();
        var cutoff = now - options.RescueAfter;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var rescued = new List<long>();
        await using (var rescue = new NpgsqlCommand(_sql.Rescue, connection))
        {
            rescue.Parameters.Add(new NpgsqlParameter { Value = now });
            rescue.Parameters.Add(new NpgsqlParameter { Value = cutoff });
            await using var reader = await rescue.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) rescued.Add(reader.GetInt64(0));
        }
        if (rescued.Count > 0)
            logger.LogWarning("Rescued {Count} jobs of workers silent since before {Cutoff}: {JobIds}", rescued.Count, cutoff, string.Join(", ", rescued.Take(20)));
        await using (var forget = new NpgsqlCommand(_sql.ForgetDeadWorkers, connection))
        {
            forget.Parameters.Add(new NpgsqlParameter { Value = cutoff });
            await forget.ExecuteNonQueryAsync(ct);
        }
        return Interval;
    }
}
