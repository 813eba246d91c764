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
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var queues = new List<string>();
        await using (var stage = new NpgsqlCommand(_sql.Stage, connection))
        {
            stage.Parameters.Add(new NpgsqlParameter { Value = Clock.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            stage.Parameters.Add(new NpgsqlParameter { Value = BatchSize, NpgsqlDbType = NpgsqlDbType.Integer });
            await using var reader = await stage.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) queues.Add(reader.GetString(0));
        }
        if (queues.Count > 0) await WakeQueuesAsync(connection, queues, ct);
        if (queues.Count == BatchSize) return TimeSpan.Zero;

        // Sleep until the next job is due, so a snooze of 100 ms wakes after 100 ms, not a full interval.
        await using var next = new NpgsqlCommand(_sql.NextDue, connection);
        var due = await next.ExecuteScalarAsync(ct) is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) - Clock.GetUtcNow() : Interval;
        return due < TimeSpan.Zero ? TimeSpan.Zero : due > Interval ? Interval : due;
    }

    private async Task WakeQueuesAsync(NpgsqlConnection connection, List<string> queues, CancellationToken ct)
    {
        var distinct = queues.Distinct().ToArray();
        if (options.UseListenNotify)
        {
            await using var notify = new NpgsqlCommand(_sql.Notify, connection);
            notify.Parameters.Add(new NpgsqlParameter { Value = options.Channel });
            notify.Parameters.Add(new NpgsqlParameter { Value = distinct, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await notify.ExecuteNonQueryAsync(ct);
        }
        foreach (var queue in distinct) wakeups.Wake(queue);
    }
}
