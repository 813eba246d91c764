using Dispatcher.Queue.Maintenance;
using Dispatcher.Queue.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue.Leadership;

/// <summary>
/// Competes for the leader lease (a row with an expiry), renews it at a third of its length, and
/// runs the maintenance services only while it holds it. Resigns on shutdown so another instance
/// takes over at once instead of waiting for the lease to expire.
/// </summary>
internal sealed class LeaderElector(NpgsqlDataSource dataSource, QueueOptions options, string workerId,
    IReadOnlyList<MaintenanceService> services, TimeProvider clock, ILogger<LeaderElector> logger)
{
    private readonly JobSql _sql = new(options.Schema);
    private CancellationTokenSource? _leading;
    private Task _servicesTask = Task.CompletedTask;

    public bool IsLeader => _leading is not null;

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                bool elected;
                try { elected = await TryElectAsync(ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
                catch (Exception ex)
                {
                    // Can't confirm the lease: stop leading before it may pass to someone else.
                    logger.LogWarning(ex, "Leader election failed");
                    elected = false;
                }
                if (elected && !IsLeader) StartLeading();
                else if (!elected && IsLeader) await StopLeadingAsync();
                try { await Task.Delay(options.LeaderLease / 3, clock, ct); }
                catch (OperationCanceledException) { break; }
            }
        }
        finally
        {
            if (IsLeader)
            {
                await StopLeadingAsync();
                await ResignAsync();
            }
        }
    }

    private async Task<bool> TryElectAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand(_sql.ElectLeader);
        command.Parameters.Add(new NpgsqlParameter { Value = workerId });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = now + options.LeaderLease });
        return await command.ExecuteScalarAsync(ct) is string;
    }

    private void StartLeading()
    {
        logger.LogInformation("Worker {WorkerId} is now the leader", workerId);
        _leading = new CancellationTokenSource();
        var token = _leading.Token;
        _servicesTask = Task.WhenAll(services.Select(s => Task.Run(() => s.RunAsync(token), CancellationToken.None)));
    }

    private async Task StopLeadingAsync()
    {
        logger.LogInformation("Worker {WorkerId} stops leading", workerId);
        await _leading!.CancelAsync();
        await _servicesTask;
        _leading.Dispose();
        _leading = null;
    }

    private async Task ResignAsync()
    {
        try
        {
            await using var command = dataSource.CreateCommand(_sql.ResignLeader);
            command.Parameters.Add(new NpgsqlParameter { Value = workerId });
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not resign leadership; the lease will expire");
        }
    }
}
