using Dispatcher.Queue.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Queue.Workers;

/// <summary>
/// Works one queue: claims as many jobs as it has free slots in one statement, runs each on the
/// thread pool, and hands outcomes to the completer. It waits for a wake-up (NOTIFY or a local
/// enqueue) or a jittered poll when the queue looks empty.
/// </summary>
internal sealed class Producer(
    string queue,
    int concurrency,
    NpgsqlDataSource dataSource,
    QueueOptions options,
    string workerId,
    JobExecutor executor,
    Completer completer,
    AsyncSignal wakeup,
    QueueMetrics metrics,
    TimeProvider clock,
    ILogger logger)
{
    private readonly JobSql _sql = new(options.Schema);
    private readonly AsyncSignal _slotFreed = new();
    private readonly Random _random = new();
    private int _running;
    private readonly AsyncSignal _jobEnded = new();

    public string Queue => queue;
    public int Running => Volatile.Read(ref _running);

    /// <summary>Claims until <paramref name="stopClaiming"/>; running jobs get <paramref name="stopJobs"/>.</summary>
    public async Task RunAsync(CancellationToken stopClaiming, CancellationToken stopJobs)
    {
        var moreLikely = true;
        var recheckAt = (DateTimeOffset?)null;
        // Claim when a good share of slots is free, so a busy queue claims in batches, not one by one.
        var minClaim = Math.Max(1, Math.Min(options.ClaimBatchSize, concurrency) / 4);
        while (!stopClaiming.IsCancellationRequested)
        {
            try
            {
                var free = concurrency - Running;
                if (free == 0 || (moreLikely && free < minClaim && Running > 0))
                {
                    await _slotFreed.WaitAsync(stopClaiming);
                    continue;
                }
                if (!moreLikely)
                {
                    var wait = recheckAt is { } at ? at - clock.GetUtcNow() : Jittered(options.PollInterval);
                    recheckAt = null;
                    if (wait > TimeSpan.Zero && await wakeup.WaitAsync(wait, clock, stopClaiming))
                        recheckAt = clock.GetUtcNow() + options.NotifyCooldown; // see NotifyThrottle
                }
                var jobs = await ClaimAsync(Math.Min(free, options.ClaimBatchSize), stopClaiming);
                moreLikely = jobs.Count == Math.Min(free, options.ClaimBatchSize);
                foreach (var job in jobs) Start(job, stopJobs);
            }
            catch (OperationCanceledException) when (stopClaiming.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Claiming from queue {Queue} failed", queue);
                moreLikely = false;
                try { await Task.Delay(Jittered(options.PollInterval), clock, stopClaiming); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>Completes when no job started by this producer is still running.</summary>
    public async Task WhenIdleAsync(CancellationToken ct)
    {
        while (Running > 0) await _jobEnded.WaitAsync(TimeSpan.FromMilliseconds(50), clock, ct);
    }

    private async Task<List<ClaimedJob>> ClaimAsync(int limit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        // The claim commits without waiting for its WAL flush (the statement sets it when it
        // claims anything). If the server crashes before the flush, the claim is simply undone
        // and the jobs run again, the usual at-least-once; a lost claim can never strand a job
        // the way a lost completion could, so completions stay synchronous.
        await using var claim = new NpgsqlCommand(_sql.Claim, connection);
        claim.Parameters.Add(new NpgsqlParameter { Value = queue, NpgsqlDbType = NpgsqlDbType.Text });
        claim.Parameters.Add(new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });
        claim.Parameters.Add(new NpgsqlParameter { Value = workerId, NpgsqlDbType = NpgsqlDbType.Text });
        claim.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        var jobs = new List<ClaimedJob>(limit);
        // Not cancellable once sent: a claim whose rows were locked must be read to the end.
        await using (var reader = await claim.ExecuteReaderAsync(CancellationToken.None))
        {
            while (await reader.ReadAsync(CancellationToken.None))
                jobs.Add(new ClaimedJob(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.GetInt32(4), reader.GetInt32(5), reader.GetFieldValue<string[]>(6),
                    reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }
        metrics.Claim(jobs.Count);
        return jobs;
    }

    private void Start(ClaimedJob job, CancellationToken stopJobs)
    {
        Interlocked.Increment(ref _running);
        _ = Task.Run(async () =>
        {
            var started = clock.GetTimestamp();
            try
            {
                completer.Add(await executor.ExecuteAsync(job, stopJobs));
            }
            finally
            {
                metrics.Ran(job.Kind, clock.GetElapsedTime(started));
                Interlocked.Decrement(ref _running);
                _slotFreed.Set();
                _jobEnded.Set();
            }
        }, CancellationToken.None);
    }

    private TimeSpan Jittered(TimeSpan interval)
    {
        double factor;
        lock (_random) factor = 0.9 + _random.NextDouble() * 0.1;
        return interval * factor;
    }
}
