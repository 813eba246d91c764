using System.Threading.Channels;
using Dispatcher.Queue.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Queue.Workers;

/// <summary>
/// Writes attempt outcomes in batches: whatever piled up while the previous write ran goes in the
/// next statement, so under load one UPDATE finishes hundreds of jobs. A failed write is retried
/// with the same outcomes; nothing is dropped.
/// </summary>
internal sealed class Completer(NpgsqlDataSource dataSource, QueueOptions options, string workerId, QueueMetrics metrics,
    QueueWakeups wakeups, TimeProvider clock, ILogger<Completer> logger)
{
    private const int MaxBatch = 2_000;
    private readonly Channel<JobOutcome> _outcomes = Channel.CreateUnbounded<JobOutcome>(new UnboundedChannelOptions { SingleReader = true });
    private readonly JobSql _sql = new(options.Schema);

    public void Add(JobOutcome outcome) => _outcomes.Writer.TryWrite(outcome);

    /// <summary>Runs until <see cref="Complete"/> is called and everything is written, or <paramref name="abandon"/> fires.</summary>
    public async Task RunAsync(CancellationToken abandon)
    {
        var batch = new List<JobOutcome>(MaxBatch);
        var reader = _outcomes.Reader;
        while (await reader.WaitToReadAsync(abandon))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var outcome)) batch.Add(outcome);
            await WriteWithRetryAsync(batch, abandon);
        }
    }

    public void Complete() => _outcomes.Writer.TryComplete();

    private async Task WriteWithRetryAsync(List<JobOutcome> batch, CancellationToken abandon)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await WriteAsync(batch, abandon);
                return;
            }
            catch (Exception ex) when (!abandon.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Writing {Count} job outcomes failed; retrying in {Delay}", batch.Count, delay);
                await Task.Delay(delay, clock, abandon);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private async Task WriteAsync(List<JobOutcome> batch, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        NpgsqlCommand command;
        if (batch.TrueForAll(o => o.State == JobState.Completed))
        {
            command = new NpgsqlCommand(_sql.CompleteAll, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(o => o.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = workerId, NpgsqlDbType = NpgsqlDbType.Text });
        }
        else
        {
            command = new NpgsqlCommand(_sql.Complete, connection);
            command.Parameters.Add(Array(batch.Select(o => o.Id).ToArray(), NpgsqlDbType.Bigint));
            command.Parameters.Add(Array(batch.Select(o => o.State.ToDb()).ToArray(), NpgsqlDbType.Text));
            command.Parameters.Add(Array(batch.Select(o => o.ScheduledAt).ToArray(), NpgsqlDbType.TimestampTz));
            command.Parameters.Add(Array(batch.Select(o => o.RefundAttempt ? 1 : 0).ToArray(), NpgsqlDbType.Integer));
            command.Parameters.Add(Array(batch.Select(o => o.ErrorJson).ToArray(), NpgsqlDbType.Jsonb));
            command.Parameters.Add(Array(batch.Select(o => o.FinalizedAt).ToArray(), NpgsqlDbType.TimestampTz));
            command.Parameters.Add(new NpgsqlParameter { Value = workerId, NpgsqlDbType = NpgsqlDbType.Text });
        }
        // Jobs woken while they ran come back available: wake their producers.
        await using (command)
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) wakeups.Wake(reader.GetString(0));
        metrics.Statement();
        foreach (var outcome in batch) metrics.Finished(outcome.State);
        var soon = clock.GetUtcNow() + options.StageInterval;
        if (batch.Exists(o => o.ScheduledAt < soon && o.State is JobState.Scheduled or JobState.Retryable)) wakeups.Stager.Set();
    }

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType elementType) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };
}
