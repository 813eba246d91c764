using System.Diagnostics;
using Dispatcher.Queue;
using Dispatcher.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dispatcher.Tests.Queue;

public sealed class EnqueueTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private readonly RunLog _log = new();

    private Task<EngineInstance> StartAsync(string connectionString, Action<QueueOptions>? configure = null, bool start = true) =>
        EngineInstance.StartAsync(connectionString, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<NoteArgs, NoteHandler>("note");
        }, configure, start: start);

    [Fact]
    public async Task A_job_enqueued_now_runs_once_and_ends_completed()
    {
        await using var engine = await StartAsync(db.ConnectionString);
        var result = await engine.Client.EnqueueAsync(new NoteArgs("hello"));

        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal(JobState.Completed, await StateOf(db.ConnectionString, result.JobId, JobState.Completed));
        Assert.Single(_log.Runs, r => r.JobId == result.JobId);
    }

    [Fact]
    public async Task Concurrent_enqueues_of_one_unique_key_create_one_job()
    {
        await using var engine = await StartAsync(await db.CreateExtraDatabaseAsync(), o => o.Queues = new());
        var options = new EnqueueOptions { UniqueKey = "process-batch:42" };

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => engine.Client.EnqueueAsync(new NoteArgs("x"), options))));

        Assert.Single(results.Select(r => r.JobId).Distinct());
        Assert.Single(results, r => !r.Duplicate);
        Assert.Equal(9, results.Count(r => r.Duplicate));
    }

    [Fact]
    public async Task A_unique_key_is_free_again_once_its_job_has_finished()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await StartAsync(cs);
        var options = new EnqueueOptions { UniqueKey = "once-at-a-time" };
        var first = await engine.Client.EnqueueAsync(new NoteArgs("1"), options);
        await StateOf(cs, first.JobId, JobState.Completed);

        var second = await engine.Client.EnqueueAsync(new NoteArgs("2"), options);

        Assert.False(second.Duplicate);
        Assert.NotEqual(first.JobId, second.JobId);
    }

    [Fact]
    public async Task A_rolled_back_transaction_leaves_no_job()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await StartAsync(cs);
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var tx = await connection.BeginTransactionAsync())
        {
            await engine.Client.EnqueueAsync(tx, new NoteArgs("never"));
            await tx.RollbackAsync();
        }

        await Task.Delay(300);
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM dispatcher.jobs");
        Assert.Equal(0L, await count.ExecuteScalarAsync());
        Assert.Empty(_log.Runs);
    }

    [Fact]
    public async Task A_committed_job_wakes_an_idle_worker_of_another_instance_at_once_not_at_its_next_poll()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        // The worker is a separate instance from the one enqueueing, so only NOTIFY can wake it;
        // its poll interval is 30 s. How fast the wake-up is (about 1 ms) is the engine benchmark's
        // commit_to_start; here a generous bound keeps a busy CI machine from failing the test.
        await using var worker = await StartAsync(cs, o => o.PollInterval = TimeSpan.FromSeconds(30));
        await using var enqueuer = await StartAsync(cs, o => { o.Queues = new(); o.RunMaintenance = false; });
        await WaitUntilListening(worker);
        await using var dataSource = NpgsqlDataSource.Create(cs);

        var latencies = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var tx = await connection.BeginTransactionAsync();
            await enqueuer.Client.EnqueueAsync(tx, new NoteArgs($"tx {i}"));
            await Task.Delay(20); // idle inside the transaction: nothing may start before commit
            Assert.Equal(i, _log.Runs.Count);
            var committed = Stopwatch.GetTimestamp();
            await tx.CommitAsync();
            await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(5));
            latencies.Add(Stopwatch.GetElapsedTime(committed, _log.Runs[^1].Timestamp));
        }

        Assert.All(latencies, l => Assert.True(l < TimeSpan.FromSeconds(2), $"started {l.TotalMilliseconds:F1} ms after commit"));
    }

    [Fact]
    public async Task Bulk_enqueue_inserts_thousands_of_jobs_in_one_round_trip()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await StartAsync(cs, o => o.Queues = new());
        var requests = Enumerable.Range(0, 5_000).Select(i => new JobRequest(new NoteArgs($"bulk {i}"))).ToList();

        var results = await engine.Client.EnqueueManyAsync(requests);

        Assert.Equal(5_000, results.Select(r => r.JobId).Distinct().Count());
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var check = dataSource.CreateCommand("SELECT count(*), count(DISTINCT args->>'note') FROM dispatcher.jobs WHERE state = 'available'");
        await using var reader = await check.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(5_000L, reader.GetInt64(0));
        Assert.Equal(5_000L, reader.GetInt64(1));
    }

    [Fact]
    public async Task A_job_scheduled_for_later_waits_until_its_time()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await StartAsync(cs);
        var enqueued = Stopwatch.GetTimestamp();
        var result = await engine.Client.EnqueueAsync(new NoteArgs("later"), new EnqueueOptions { Delay = TimeSpan.FromMilliseconds(700) });

        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));

        Assert.True(Stopwatch.GetElapsedTime(enqueued, _log.Runs[0].Timestamp) >= TimeSpan.FromMilliseconds(700));
        Assert.Equal(result.JobId, _log.Runs[0].JobId);
    }

    [Fact]
    public async Task Enqueue_options_set_queue_priority_attempts_and_tags()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await StartAsync(cs, o => o.Queues = new());
        var result = await engine.Client.EnqueueAsync(new NoteArgs("opts"),
            new EnqueueOptions { Queue = "calls", Priority = 3, MaxAttempts = 2, Tags = ["a", "b"] });

        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var check = dataSource.CreateCommand("SELECT kind, queue, priority, max_attempts, tags, args::text FROM dispatcher.jobs WHERE id = $1");
        check.Parameters.Add(new NpgsqlParameter { Value = result.JobId });
        await using var reader = await check.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("note", reader.GetString(0));
        Assert.Equal("calls", reader.GetString(1));
        Assert.Equal((short)3, reader.GetInt16(2));
        Assert.Equal(2, reader.GetInt32(3));
        Assert.Equal(["a", "b"], reader.GetFieldValue<string[]>(4));
        Assert.Equal("""{"note": "opts"}""", reader.GetString(5));
    }

    internal static Task WaitUntilListening(EngineInstance engine) =>
        Eventually.That(() => engine.Host.IsListening, "the engine listening", TimeSpan.FromSeconds(10), every: TimeSpan.FromMilliseconds(10));

    /// <summary>Polls until the job reaches <paramref name="expected"/> (or 10 s pass), and returns its state.</summary>
    internal static async Task<JobState> StateOf(string connectionString, long jobId, JobState expected, TimeSpan? timeout = null)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var command = dataSource.CreateCommand("SELECT state::text FROM dispatcher.jobs WHERE id = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = jobId });
            var state = JobStates.Parse((string)(await command.ExecuteScalarAsync())!);
            if (state == expected || deadline.Elapsed >= (timeout ?? TimeSpan.FromSeconds(10))) return state;
            await Task.Delay(20);
        }
    }
}
