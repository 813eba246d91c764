using Dispatcher.Queue.Storage;
using Dispatcher.Queue.Workers;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Queue.Maintenance;

/// <summary>Makes scheduled and retryable jobs available once their time has come, and wakes their queues.</summary>
internal sealed class Stager(NpgsqlDataSource dataSource, QueueOptions options, QueueWakeups wakeups, TimeProvider clock, ILogger<Stager> logger)
    : MaintenanceService(clock, logger)
{
    private const int BatchSize = 5_000;
    private readonly JobSql _sql = new(options.Schema);

    protected override TimeSpan Interval => options.StageInterval;
    protected override AsyncSignal Wake => wakeups.Stager;

    public override async Task<TimeSpan> RunOnceAsync(CancellationToken ct)
    {
        string[] queues;
        int staged;
        DateTimeOffset? nextDue;
        await using (var stage = dataSource.CreateCommand(_sql.Stage))
        {
            stage.Parameters.Add(new NpgsqlParameter { Value = Clock.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            stage.Parameters.Add(new NpgsqlParameter { Value = BatchSize, NpgsqlDbType = NpgsqlDbType.Integer });
            stage.Parameters.Add(new NpgsqlParameter { Value = options.Channel, NpgsqlDbType = NpgsqlDbType.Text });
            stage.Parameters.Add(new NpgsqlParameter { Value = options.UseListenNotify, NpgsqlDbType = NpgsqlDbType.Boolean });
            await using var reader = await stage.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            queues = reader.GetFieldValue<string[]>(0);
            staged = (int)reader.GetInt64(1);
            nextDue = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3);
        }
        foreach (var queue in queues) wakeups.Wake(queue);
        if (staged == BatchSize) return TimeSpan.Zero;

        // Sleep until the next job is due, so a snooze of 100 ms wakes after 100 ms, not a full interval.
        var due = nextDue is { } at ? at - Clock.GetUtcNow() : Interval;
        return due < TimeSpan.Zero ? TimeSpan.Zero : due > Interval ? Interval : due;
    }
}
