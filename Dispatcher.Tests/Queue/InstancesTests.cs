using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;
using Dispatcher.Queue.Storage;
using Dispatcher.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dispatcher.Tests.Queue;

/// <summary>Several engine instances on one database, as several service replicas would run.</summary>
public sealed class InstancesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private readonly RunLog _log = new();

    private Task<EngineInstance> StartAsync(string cs, Action<QueueOptions>? configure = null) =>
        EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<NoteArgs, NoteHandler>("note");
            s.AddJob<WaitArgs, WaitHandler>("wait", k => k.MaxAttempts = 1);
        }, configure);

    [Fact]
    public async Task Three_instances_with_many_workers_run_each_of_20000_jobs_exactly_once()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var engines = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => StartAsync(cs, o =>
        {
            o.Queues = new() { ["default"] = 50 };
            o.ClaimBatchSize = 50;
        })));
        try
        {
            var requests = Enumerable.Range(0, 20_000).Select(i => new JobRequest(new NoteArgs($"job {i}"))).ToList();
            var ids = new List<long>();
            foreach (var chunk in requests.Chunk(5_000))
                ids.AddRange((await engines[0].Client.EnqueueManyAsync(chunk)).Select(r => r.JobId));

            await _log.WaitForRunsAsync(20_000, TimeSpan.FromSeconds(120));
            await Task.Delay(500); // a job run twice would show up now

            var runs = _log.Runs;
            Assert.Equal(20_000, runs.Count);
            Assert.Equal(ids.Order(), runs.Select(r => r.JobId).Order());
            Assert.All(runs, r => Assert.Equal(1, r.Attempt));
            await using var dataSource = NpgsqlDataSource.Create(cs);
            await WaitForCompleted(dataSource, 20_000);
            await using var byWorker = dataSource.CreateCommand("SELECT count(DISTINCT attempted_by) FROM dispatcher.jobs");
            Assert.Equal(3L, await byWorker.ExecuteScalarAsync()); // all three did their share

            // The counters kept by every claim and completion statement agree with the rows.
            var counts = await engines[0].Services.GetRequiredService<JobMonitor>().CountsAsync();
            Assert.Equal(20_000L, counts.ByState[JobState.Completed]);
            Assert.Equal(20_000L, counts.ByState.Values.Sum());
        }
        finally
        {
            await Task.WhenAll(engines.Select(e => e.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Exactly_one_instance_leads_and_another_takes_over_when_it_stops()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var engines = (await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => StartAsync(cs)))).ToList();
        try
        {
            await Eventually.That(() => engines.Count(e => e.Host.IsLeader) == 1, "one leader");
            await Task.Delay(1_500);
            Assert.Single(engines, e => e.Host.IsLeader);

            var leader = engines.Single(e => e.Host.IsLeader);
            await leader.DisposeAsync();
            engines.Remove(leader);

            // The leader resigned, so a successor needs no lease expiry: one renewal round (lease / 3).
            await Eventually.That(() => engines.Count(e => e.Host.IsLeader) == 1, "a new leader", TimeSpan.FromSeconds(2.5));
        }
        finally
        {
            await Task.WhenAll(engines.Select(e => e.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Two_instances_starting_at_once_apply_each_migration_once()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(cs);
        var runners = Enumerable.Range(0, 2).Select(_ => new MigrationRunner(dataSource, new QueueOptions(), NullLogger<MigrationRunner>.Instance)).ToList();

        var applied = await Task.WhenAll(runners.Select(r => Task.Run(() => r.MigrateAsync(CancellationToken.None))));

        Assert.Equal(MigrationSet.Engine.Migrations.Count, applied.Sum(a => a.Count));
        Assert.Contains(applied, a => a.Count == 0);
        await using var count = dataSource.CreateCommand("SELECT count(*), count(DISTINCT version) FROM dispatcher.schema_migrations");
        await using var reader = await count.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(reader.GetInt64(1), reader.GetInt64(0));
    }

    [Fact]
    public async Task A_long_job_of_a_live_worker_is_never_rescued()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        // Rescue after 3 s of silence; the job runs 6 s while its worker keeps heartbeating.
        await using var engine = await StartAsync(cs);
        await using var other = await StartAsync(cs);
        var job = (await engine.Client.EnqueueAsync(new WaitArgs(6_000))).JobId;

        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job, JobState.Completed, TimeSpan.FromSeconds(20)));
        Assert.Single(_log.Runs);
        Assert.Empty(await OutcomeTests.ErrorsOf(cs, job));
    }

    [Fact]
    public async Task Shutdown_lets_running_jobs_finish_within_the_timeout()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var engine = await StartAsync(cs);
        var job = (await engine.Client.EnqueueAsync(new WaitArgs(500))).JobId;
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));

        await engine.DisposeAsync();

        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job, JobState.Completed, TimeSpan.Zero));
    }

    [Fact]
    public async Task Shutdown_hands_unfinished_jobs_back_without_spending_an_attempt()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var engine = await StartAsync(cs, o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
        var job = (await engine.Client.EnqueueAsync(new WaitArgs(60_000), new EnqueueOptions { MaxAttempts = 1 })).JobId;
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));

        await engine.DisposeAsync();

        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var check = dataSource.CreateCommand("SELECT state::text, attempt FROM dispatcher.jobs WHERE id = $1");
        check.Parameters.Add(new NpgsqlParameter { Value = job });
        await using (var reader = await check.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            Assert.Equal("available", reader.GetString(0));
            Assert.Equal(0, reader.GetInt32(1));
        }
        await using var workers = dataSource.CreateCommand("SELECT count(*) FROM dispatcher.workers");
        Assert.Equal(0L, await workers.ExecuteScalarAsync());

        // and another instance runs it
        await using var next = await StartAsync(cs);
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal(job, _log.Runs[^1].JobId);
    }

    [Fact]
    public async Task Without_listen_notify_jobs_are_found_by_polling()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var worker = await StartAsync(cs, o => { o.UseListenNotify = false; o.PollInterval = TimeSpan.FromMilliseconds(100); });
        await using var enqueuer = await StartAsync(cs, o => { o.UseListenNotify = false; o.Queues = new(); });

        await enqueuer.Client.EnqueueAsync(new NoteArgs("polled"));

        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(5));
        Assert.False(worker.Host.IsListening);
    }

    [Fact]
    public async Task A_dropped_listen_connection_is_re_established()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var worker = await StartAsync(cs, o => o.PollInterval = TimeSpan.FromSeconds(60));
        await using var enqueuer = await StartAsync(cs, o => { o.Queues = new(); o.RunMaintenance = false; });
        await EnqueueTests.WaitUntilListening(worker);
        await using var dataSource = NpgsqlDataSource.Create(cs);

        await using (var kill = dataSource.CreateCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"))
            Assert.True((long)(await kill.ExecuteScalarAsync())! >= 1);
        await Eventually.That(() => !worker.Host.IsListening, "listener noticed the drop");
        await EnqueueTests.WaitUntilListening(worker);

        await enqueuer.Client.EnqueueAsync(new NoteArgs("after reconnect"));
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(5)); // far sooner than the 60 s poll
    }

    private static async Task WaitForCompleted(NpgsqlDataSource dataSource, long expected)
    {
        await Eventually.That(async () =>
        {
            await using var count = dataSource.CreateCommand("SELECT count(*) FROM dispatcher.jobs WHERE state = 'completed'");
            return (long)(await count.ExecuteScalarAsync())! == expected;
        }, $"{expected} completed jobs", TimeSpan.FromSeconds(30));
    }
}
