using Dispatcher.Queue;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>
/// Turns new outbound_call_jobs rows into engine jobs: at once when their insert is announced
/// (NOTIFY from the table's trigger, heard on the engine's listen connection), and by a sweep as
/// a safety net. At most CALL_DISPATCHER_LIMIT rows a pass; instances share the work through
/// row locks, and each row gets one unique engine job per attempt.
/// </summary>
public sealed class OnboardingDispatcher(NpgsqlDataSource dataSource, JobClient jobs, OnboardingOptions options, TimeProvider clock,
    ILogger<OnboardingDispatcher> logger) : BackgroundService
{
    public const string Channel = "outbound_call_jobs";
    private readonly SemaphoreSlim _announced = new(0, 1);

    /// <summary>Called by the listen connection; never waits.</summary>
    public void Announce()
    {
        if (_announced.CurrentCount == 0)
        {
            try { _announced.Release(); }
            catch (SemaphoreFullException) { }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await PassAsync(stoppingToken) == options.DispatchLimit) { }
                await _announced.WaitAsync(options.SweepInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Onboarding dispatch pass failed");
                try { await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>One pass: marks up to the limit of new rows dispatched and enqueues their first call, in one transaction.</summary>
    public async Task<int> PassAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var requests = new List<JobRequest>();
        await using (var command = new NpgsqlCommand("""
            UPDATE outbound_call_jobs SET dispatched_at = $2, updated_at = $2
            WHERE id IN (
                SELECT id FROM outbound_call_jobs WHERE status = 'queued' AND dispatched_at IS NULL
                ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING id, attempts
            """, connection, tx))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = options.DispatchLimit });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                requests.Add(CallRequest(reader.GetInt64(0), reader.GetInt32(1) + 1));
        }
        if (requests.Count > 0) await jobs.EnqueueManyAsync(tx, requests, ct);
        await tx.CommitAsync(ct);
        return requests.Count;
    }

    public static JobRequest CallRequest(long jobId, int attempt, DateTimeOffset? at = null) =>
        new(new PlaceOnboardingCallArgs(jobId, attempt), new EnqueueOptions { UniqueKey = $"onboarding-call:{jobId}:{attempt}", ScheduledAt = at });
}
