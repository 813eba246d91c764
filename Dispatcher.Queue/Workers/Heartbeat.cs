using System.Text.Json;
using Dispatcher.Queue.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue.Workers;

/// <summary>Registers this instance in the workers table and keeps its heartbeat fresh.</summary>
internal sealed class Heartbeat(NpgsqlDataSource dataSource, QueueOptions options, string workerId, TimeProvider clock, ILogger<Heartbeat> logger)
{
    private readonly JobSql _sql = new(options.Schema);
    private readonly DateTimeOffset _startedAt = clock.GetUtcNow();

    public async Task BeatAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(_sql.Heartbeat);
        command.Parameters.Add(new NpgsqlParameter { Value = workerId });
        command.Parameters.Add(new NpgsqlParameter { Value = Environment.MachineName });
        command.Parameters.Add(new NpgsqlParameter { Value = Environment.ProcessId });
        command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(options.Queues) });
        command.Parameters.Add(new NpgsqlParameter { Value = _startedAt });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.HeartbeatInterval, clock, ct);
                await BeatAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception ex) { logger.LogWarning(ex, "Heartbeat of worker {WorkerId} failed", workerId); }
        }
    }

    public async Task DeregisterAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(_sql.Deregister);
        command.Parameters.Add(new NpgsqlParameter { Value = workerId });
        await command.ExecuteNonQueryAsync(ct);
    }
}
