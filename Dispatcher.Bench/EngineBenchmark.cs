using System.Diagnostics;
using System.Text.Json;
using Dispatcher.Queue;
using Dispatcher.Queue.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Bench;

/// <summary>
/// Burn-down: insert N no-op jobs in bulk, then work them with one engine instance, keeping the
/// completed rows. Then, on the idle engine, enqueue one job at a time for start latency.
/// </summary>
public static class EngineBenchmark
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var jobs = args.Int("jobs", 200_000);
        var concurrency = args.Int("concurrency", 1_000);
        var claimBatch = args.Int("claim-batch", 1_000);
        var samples = args.Int("latency-samples", 500);

        await using var database = await RunDatabase.OpenAsync(args, "bench");
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 50 }.ConnectionString;

        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<BenchProbe>();
        services.AddDispatcherQueue(connectionString, o =>
        {
            o.Schema = "dispatcher_bench";
            o.Queues = new() { ["bench"] = concurrency };
            o.ClaimBatchSize = claimBatch;
        });
        services.AddJob<NoopArgs, NoopHandler>("noop", k => k.Queue = "bench");
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<JobClient>();
        var host = provider.GetRequiredService<QueueHost>();
        var probe = provider.GetRequiredService<BenchProbe>();
        var metrics = provider.GetRequiredService<QueueMetrics>();

        await using var db = new BenchQueries(connectionString, "engine-bench");
        await provider.GetRequiredService<MigrationRunner>().MigrateAsync(CancellationToken.None);
        await db.ExecuteAsync("TRUNCATE dispatcher_bench.jobs, dispatcher_bench.job_counts, dispatcher_bench.job_count_deltas, dispatcher_bench.job_stats");
        var statsAvailable = await db.TryResetStatementStatsAsync();

        // Enqueue in bulk.
        var enqueueWatch = Stopwatch.StartNew();
        for (var offset = 0; offset < jobs; offset += 10_000)
        {
            var chunk = Enumerable.Range(offset, Math.Min(10_000, jobs - offset)).Select(i => new JobRequest(new NoopArgs(i))).ToList();
            await client.EnqueueManyAsync(chunk);
        }
        var enqueuePerSec = jobs / enqueueWatch.Elapsed.TotalSeconds;
        await db.ExecuteAsync("VACUUM ANALYZE dispatcher_bench.jobs");

        // Work them all.
        if (statsAvailable) await db.TryResetStatementStatsAsync();
        var commitsBefore = await db.CommitsAsync();
        var statementsBefore = metrics.Statements;
        var workWatch = Stopwatch.StartNew();
        await host.StartAsync(CancellationToken.None);
        while (await db.ScalarAsync("SELECT count(*) FROM dispatcher_bench.jobs WHERE state = 'completed'") < jobs)
            await Task.Delay(probe.Runs < jobs ? 200 : 10);
        var workSeconds = workWatch.Elapsed.TotalSeconds;
        var commits = await db.CommitsAsync() - commitsBefore;
        var statements = statsAvailable ? (await db.StatementsAsync()).All : metrics.Statements - statementsBefore;

        // An idle system has had autovacuum clear the dead index entries the burn-down left;
        // without it every claim walks 200,000 of them.
        await db.ExecuteAsync("VACUUM dispatcher_bench.jobs");

        // Start latency on the idle engine, one job at a time: from the enqueue call (which waits
        // for its durable commit) to the handler starting. A short pause between samples lets the
        // previous job's completion reach disk first, so each sample meets a truly idle engine.
        var latencies = new List<double>(samples);
        var afterCommit = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            await Task.Delay(20);
            probe.Started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var enqueued = Stopwatch.GetTimestamp();
            await client.EnqueueAsync(new NoopArgs(-i));
            var committed = Stopwatch.GetTimestamp();
            var started = await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
            latencies.Add(Stopwatch.GetElapsedTime(enqueued, started).TotalMilliseconds);
            afterCommit.Add(Math.Max(0, Stopwatch.GetElapsedTime(committed, started).TotalMilliseconds));
        }
        await host.StopAsync(CancellationToken.None);
        latencies.Sort();
        afterCommit.Sort();

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            benchmark = "engine",
            jobs,
            concurrency,
            claim_batch = claimBatch,
            jobs_per_sec = Math.Round(jobs / workSeconds),
            enqueue_per_sec = Math.Round(enqueuePerSec),
            work_seconds = Math.Round(workSeconds, 2),
            sql_statements_per_job = Math.Round((double)statements / jobs, 4),
            statements_source = statsAvailable ? "pg_stat_statements" : "engine",
            commits_per_job = Math.Round((double)commits / jobs, 4),
            latency_ms_p50 = Math.Round(Percentile.Of(latencies, 0.50), 2),
            latency_ms_p99 = Math.Round(Percentile.Of(latencies, 0.99), 2),
            latency_samples = samples,
            commit_to_start_ms_p50 = Math.Round(Percentile.Of(afterCommit, 0.50), 2),
            commit_to_start_ms_p99 = Math.Round(Percentile.Of(afterCommit, 0.99), 2),
            peak_rss_mb = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0, 1),
        }));
        return 0;
    }
}
