using System.Diagnostics;
using System.Text.Json;
using Dispatcher.Queue;
using Dispatcher.Queue.Storage;
using Dispatcher.Testing;
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
    private const string Marker = "/* bench */ ";

    public static async Task<int> RunAsync(Arguments args)
    {
        var jobs = args.Int("jobs", 200_000);
        var concurrency = args.Int("concurrency", 1_000);
        var claimBatch = args.Int("claim-batch", 1_000);
        var samples = args.Int("latency-samples", 500);

        await using var server = args.Text("database-url") is null ? await ThrowawayPostgres.StartAsync() : null;
        var connectionString = server is null
            ? PostgresUrl.ToConnectionString(args.Text("database-url")!)
            : await server.CreateDatabaseAsync("bench");
        connectionString = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 50 }.ConnectionString;

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
        var dataSource = provider.GetRequiredService<NpgsqlDataSource>();
        var client = provider.GetRequiredService<JobClient>();
        var host = provider.GetRequiredService<QueueHost>();
        var probe = provider.GetRequiredService<BenchProbe>();
        var metrics = provider.GetRequiredService<QueueMetrics>();

        await provider.GetRequiredService<MigrationRunner>().MigrateAsync(CancellationToken.None);
        await Sql(dataSource, "TRUNCATE dispatcher_bench.jobs, dispatcher_bench.job_counts, dispatcher_bench.job_count_deltas, dispatcher_bench.job_stats");
        var statsAvailable = await TryResetStatementStatsAsync(dataSource);

        // Enqueue in bulk.
        var enqueueWatch = Stopwatch.StartNew();
        for (var offset = 0; offset < jobs; offset += 10_000)
        {
            var chunk = Enumerable.Range(offset, Math.Min(10_000, jobs - offset)).Select(i => new JobRequest(new NoopArgs(i))).ToList();
            await client.EnqueueManyAsync(chunk);
        }
        var enqueuePerSec = jobs / enqueueWatch.Elapsed.TotalSeconds;
        await Sql(dataSource, "VACUUM ANALYZE dispatcher_bench.jobs");

        // Work them all.
        if (statsAvailable) await TryResetStatementStatsAsync(dataSource);
        var commitsBefore = await CommitsAsync(dataSource);
        var statementsBefore = metrics.Statements;
        var workWatch = Stopwatch.StartNew();
        await host.StartAsync(CancellationToken.None);
        while (await ScalarAsync(dataSource, $"{Marker}SELECT count(*) FROM dispatcher_bench.jobs WHERE state = 'completed'") < jobs)
            await Task.Delay(probe.Runs < jobs ? 200 : 10);
        var workSeconds = workWatch.Elapsed.TotalSeconds;
        var commits = await CommitsAsync(dataSource) - commitsBefore;
        var statements = statsAvailable ? await StatementsAsync(dataSource) : metrics.Statements - statementsBefore;

        // An idle system has had autovacuum clear the dead index entries the burn-down left;
        // without it every claim walks 200,000 of them.
        await Sql(dataSource, "VACUUM dispatcher_bench.jobs");

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
            latency_ms_p50 = Math.Round(Percentile(latencies, 0.50), 2),
            latency_ms_p99 = Math.Round(Percentile(latencies, 0.99), 2),
            latency_samples = samples,
            commit_to_start_ms_p50 = Math.Round(Percentile(afterCommit, 0.50), 2),
            commit_to_start_ms_p99 = Math.Round(Percentile(afterCommit, 0.99), 2),
            peak_rss_mb = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0, 1),
        }));
        return 0;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task<bool> TryResetStatementStatsAsync(NpgsqlDataSource dataSource)
    {
        try
        {
            await Sql(dataSource, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            await Sql(dataSource, "SELECT pg_stat_statements_reset()");
            return true;
        }
        catch (PostgresException)
        {
            return false; // not in shared_preload_libraries, or no rights: the engine counts instead
        }
    }

    /// <summary>Statements run in this database since the reset, except the benchmark's own.</summary>
    private static Task<long> StatementsAsync(NpgsqlDataSource dataSource) => ScalarAsync(dataSource, $"""
        {Marker}SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%'
        """);

    private static Task<long> CommitsAsync(NpgsqlDataSource dataSource) => ScalarAsync(dataSource,
        $"{Marker}SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static async Task Sql(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
