using Dispatcher.Queue.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue.Maintenance;

/// <summary>Folds the count deltas written by every job statement into totals and per-minute history.</summary>
internal sealed class CountFolder(NpgsqlDataSource dataSource, QueueOptions options, TimeProvider clock, ILogger<CountFolder> logger)
    : MaintenanceService(clock, logger)
{
    private readonly JobSql _sql = new(options.Schema);

    protected override TimeSpan Interval => TimeSpan.FromSeconds(1);

    public override async Task<TimeSpan> RunOnceAsync(CancellationToken ct)
    {
        await using var fold = dataSource.CreateCommand(_sql.FoldCounts);
        await fold.ExecuteNonQueryAsync(ct);
        return Interval;
    }
}
