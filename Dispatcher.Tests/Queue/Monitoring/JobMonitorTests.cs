using System.Collections.Concurrent;
using System.Diagnostics;
using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;
using Dispatcher.Queue.Storage;
using Dispatcher.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;
using Xunit.Abstractions;

namespace Dispatcher.Tests.Queue.Monitoring;

public sealed class JobMonitorTests(DatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    private const string Schema = "dispatcher";
    private static readonly DateTimeOffset Noon = new(2030, 1, 1, 12, 34, 30, TimeSpan.Zero);

    // ---- counts and throughput ----

    [Fact]
    public async Task Counts_follow_jobs_through_enqueue_completion_and_failure_before_and_after_folding()
    {
        // No maintenance: nothing folds the deltas behind our back.
        await using var db = await EngineAsync(o => o.RunMaintenance = false);
        var client = db.Engine.Client;
        await client.EnqueueManyAsync([
            new JobRequest(new NoteArgs("a")), new JobRequest(new NoteArgs("b")), new JobRequest(new NoteArgs("c")),
            new JobRequest(new FlakyArgs(Failures: 9), new EnqueueOptions { MaxAttempts = 1 }),
            new JobRequest(new FlakyArgs(Failures: 9), new EnqueueOptions { MaxAttempts = 1 }),
            new JobRequest(new NoteArgs("later"), new EnqueueOptions { Delay = TimeSpan.FromHours(1) }),
            new JobRequest(new NoteArgs("unworked"), new EnqueueOptions { Queue = "mail" }),
        ]);

        await Eventually.That(async () => (await db.Monitor.CountsAsync()) is var c
            && c.ByState[JobState.Completed] == 3 && c.ByState[JobState.Discarded] == 2);
        Assert.True(await db.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.job_count_deltas") > 0);
        Assert.Equal(0, await db.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.job_counts"));

        var expectedByState = new Dictionary<JobState, long>
        {
            [JobState.Available] = 1, [JobState.Scheduled] = 1, [JobState.Running] = 0, [JobState.Retryable] = 0,
            [JobState.Completed] = 3, [JobState.Discarded] = 2, [JobState.Cancelled] = 0,
        };
        QueueCount[] expectedByQueue =
        [
            new("default", JobState.Scheduled, 1), new("default", JobState.Completed, 3),
            new("default", JobState.Discarded, 2), new("mail", JobState.Available, 1),
        ];
        var unfolded = await db.Monitor.CountsAsync();
        Assert.Equal(expectedByState, unfolded.ByState);
        Assert.Equal(expectedByQueue, unfolded.ByQueue);

        await db.FoldAsync();
        Assert.Equal(0, await db.ScalarAsync<long>($"SELECT count(*) FROM {Schema}.job_count_deltas"));
        var folded = await db.Monitor.CountsAsync();
        Assert.Equal(expectedByState, folded.ByState);
        Assert.Equal(expectedByQueue, folded.ByQueue);
    }

    [Fact]
    public async Task Throughput_has_every_bucket_oldest_first_from_history_and_unfolded_deltas()
    {
        await using var db = await PassiveAsync(new ManualClock(Noon)); // 12:34:30
        await db.ExecuteAsync($"""
            INSERT INTO {Schema}.job_stats (minute, state, count) VALUES
                ('2030-01-01 11:59Z', 'completed', 100),
                ('2030-01-01 12:30Z', 'completed', 5), ('2030-01-01 12:30Z', 'discarded', 1),
                ('2030-01-01 12:33Z', 'completed', 2);
            INSERT INTO {Schema}.job_count_deltas (queue, state, delta, at) VALUES
                ('default', 'completed', 3, '2030-01-01 12:34:10Z'),
                ('default', 'discarded', 2, '2030-01-01 12:33:59Z'),
                ('default', 'completed', -1, '2030-01-01 12:34:20Z'),  -- a completed job retried: not a failure or success
                ('default', 'available', 7, '2030-01-01 12:34:20Z');
            """);
        ThroughputPoint[] byMinute =
        [
            new(At(12, 30), 5, 1), new(At(12, 31), 0, 0), new(At(12, 32), 0, 0), new(At(12, 33), 2, 2), new(At(12, 34), 3, 0),
        ];
        ThroughputPoint[] byHour = [new(At(10, 0), 0, 0), new(At(11, 0), 100, 0), new(At(12, 0), 10, 3)];

        Assert.Equal(byMinute, await db.Monitor.ThroughputAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1), default));
        Assert.Equal(byHour, await db.Monitor.ThroughputAsync(TimeSpan.FromHours(3), TimeSpan.FromHours(1), default));

        await db.FoldAsync();
        Assert.Equal(byMinute, await db.Monitor.ThroughputAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1), default));
        Assert.Equal(byHour, await db.Monitor.ThroughputAsync(TimeSpan.FromHours(3), TimeSpan.FromHours(1), default));

        await Assert.ThrowsAsync<ArgumentException>(() => db.Monitor.ThroughputAsync(TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), default));

        static DateTimeOffset At(int hour, int minute) => new(2030, 1, 1, hour, minute, 0, TimeSpan.Zero);
    }

    // ---- lists and details ----

    [Fact]
    public async Task Paging_by_id_visits_every_matching_job_exactly_once_newest_first()
    {
        await using var db = await PassiveAsync();
        // 200k jobs shaped like a real table: mostly completed, some failed or cancelled, the newest available;
        // every 5th in queue mail, every 3rd of kind report, every 997th with a needle in its args.
        var started = Stopwatch.StartNew();
        await db.ExecuteAsync($"""
            INSERT INTO {Schema}.jobs (kind, queue, state, args, max_attempts, created_at, scheduled_at)
            SELECT CASE WHEN i % 3 = 0 THEN 'report' ELSE 'note' END,
                   CASE WHEN i % 5 = 0 THEN 'mail' ELSE 'default' END,
                   (CASE WHEN i > 199500 THEN 'available' WHEN i % 50 = 0 THEN 'discarded' WHEN i % 23 = 0 THEN 'cancelled'
                         WHEN i % 101 = 0 THEN 'retryable' ELSE 'completed' END)::{Schema}.job_state,
                   jsonb_build_object('text', CASE WHEN i % 997 = 0 THEN 'a Needle ' || i ELSE 'hay ' || i END),
                   3, now(), now()
            FROM generate_series(1, 200000) i;
            ANALYZE {Schema}.jobs;
            """);
        output.WriteLine($"setup took {started.ElapsedMilliseconds} ms");
        await ExplainAsync(db, new JobFilter(State: JobState.Discarded), beforeId: 100_000);
        await ExplainAsync(db, new JobFilter(State: JobState.Available), beforeId: null);
        await ExplainAsync(db, new JobFilter(State: JobState.Retryable, Queue: "mail"), beforeId: null);

        var clock = Stopwatch.StartNew();
        await AssertWalkAsync(db, JobFilter.All, "true", limit: 500);
        await AssertWalkAsync(db, new JobFilter(State: JobState.Discarded), "state = 'discarded'", limit: 300);
        await AssertWalkAsync(db, new JobFilter(State: JobState.Retryable, Queue: "mail"), "state = 'retryable' AND queue = 'mail'", limit: 50);
        await AssertWalkAsync(db, new JobFilter(Kind: "report", Text: "NEEDLE"), "kind = 'report' AND args->>'text' LIKE 'a Needle%'", limit: 7);
        // A bounded scan per page (the dashboard's filtered lists) still visits every match once, in order.
        await AssertWalkAsync(db, new JobFilter(Kind: "report", Text: "NEEDLE"), "kind = 'report' AND args->>'text' LIKE 'a Needle%'", limit: 7, scanWindow: 10_000);
        await AssertWalkAsync(db, new JobFilter(Queue: "mail"), "queue = 'mail'", limit: 500, scanWindow: 1_234);
        output.WriteLine($"walks took {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Text_filter_matches_args_literally_and_ignores_case()
    {
        await using var db = await PassiveAsync();
        var results = await db.Engine.Client.EnqueueManyAsync([
            new JobRequest(new NoteArgs("Save 50%_off today")), new JobRequest(new NoteArgs("Save 500 off")),
            new JobRequest(new NoteArgs("A NEEDLE in hay")),
        ]);
        var (discount, plain, needle) = (results[0].JobId, results[1].JobId, results[2].JobId);

        Assert.Equal([discount], await IdsAsync(db.Monitor, new JobFilter(Text: "50%_")));
        Assert.Equal([discount], await IdsAsync(db.Monitor, new JobFilter(Text: "%")));
        Assert.Equal([discount], await IdsAsync(db.Monitor, new JobFilter(Text: "_")));
        Assert.Equal([needle], await IdsAsync(db.Monitor, new JobFilter(Text: "needle")));
        Assert.Equal([plain, discount], await IdsAsync(db.Monitor, new JobFilter(Text: "save 50")));
    }

    [Fact]
    public async Task Page_size_is_kept_between_1_and_500()
    {
        await using var db = await PassiveAsync();
        await db.InsertAsync(JobState.Completed, count: 600);

        var one = await db.Monitor.ListAsync(JobFilter.All, null, 0, default);
        var most = await db.Monitor.ListAsync(JobFilter.All, null, 10_000, default);
        var rest = await db.Monitor.ListAsync(JobFilter.All, most.NextBeforeId, 10_000, default);

        Assert.Single(one.Jobs);
        Assert.Equal(500, most.Jobs.Count);
        Assert.Equal(100, rest.Jobs.Count);
        Assert.Null(rest.NextBeforeId);
    }

    [Fact]
    public async Task Get_returns_args_metadata_and_every_failed_attempt_with_its_stack()
    {
        await using var db = await EngineAsync();
        var id = (await db.Engine.Client.EnqueueAsync(new FlakyArgs(Failures: 9),
            new EnqueueOptions { MaxAttempts = 3, Tags = ["vip"], UniqueKey = "flaky-1" })).JobId;
        await Eventually.That(async () => (await db.Monitor.GetAsync(id, default))?.Job.State == JobState.Discarded);

        var details = (await db.Monitor.GetAsync(id, default))!;

        Assert.Equal("flaky", details.Job.Kind);
        Assert.Equal(["vip"], details.Job.Tags);
        Assert.Equal("flaky-1", details.UniqueKey);
        Assert.Contains("\"failures\": 9", details.ArgsJson);
        Assert.Equal("{}", details.MetadataJson);
        Assert.Equal([1, 2, 3], details.Errors.Select(e => e.Attempt));
        Assert.All(details.Errors, e => Assert.Equal(typeof(InvalidOperationException).FullName, e.Type));
        Assert.Equal(["failure 1", "failure 2", "failure 3"], details.Errors.Select(e => e.Message));
        Assert.All(details.Errors, e => Assert.Contains(nameof(FlakyHandler), e.Stack));
        Assert.Equal("failure 3", details.Job.LastError);
        Assert.Null(await db.Monitor.GetAsync(id + 1000, default));
    }

    [Fact]
    public async Task Workers_show_their_queues_heartbeat_and_running_jobs()
    {
        await using var db = await EngineAsync(o => o.Queues = new() { ["default"] = 4, ["mail"] = 2 });
        var block = new BlockArgs(Guid.NewGuid().ToString());
        var id = (await db.Engine.Client.EnqueueAsync(block)).JobId;
        await BlockHandler.Started(block.Key);

        var worker = Assert.Single(await db.Monitor.WorkersAsync(default));

        Assert.Equal(db.Engine.Host.WorkerId, worker.Id);
        Assert.Equal(Environment.ProcessId, worker.Pid);
        Assert.Equal(new Dictionary<string, int> { ["default"] = 4, ["mail"] = 2 }, worker.Queues);
        Assert.True(worker.HeartbeatAt >= worker.StartedAt);
        Assert.Equal(1, worker.RunningJobs);
        await db.Monitor.CancelAsync([id], default);
    }

    // ---- actions on chosen jobs ----

    [Fact]
    public async Task Retry_makes_stopped_jobs_available_now_with_one_more_attempt_when_spent_and_wakes_each_queue_once()
    {
        var clock = new ManualClock(Noon);
        await using var db = await PassiveAsync(clock);
        var spent = await db.InsertOneAsync(JobState.Discarded, attempt: 3, maxAttempts: 3);
        var cancelled = await db.InsertOneAsync(JobState.Cancelled, attempt: 1, maxAttempts: 3, queue: "mail");
        var completed = await db.InsertOneAsync(JobState.Completed, attempt: 1, maxAttempts: 1, queue: "mail");
        var scheduled = await db.InsertOneAsync(JobState.Scheduled);
        var running = await db.InsertOneAsync(JobState.Running, attempt: 1);
        var available = await db.InsertOneAsync(JobState.Available);
        clock.Advance(TimeSpan.FromMinutes(5));

        var (changed, notified) = await ListenAsync(db, $"{Schema}_jobs",
            () => db.Monitor.RetryAsync([spent, cancelled, completed, scheduled, running, available], default));

        Assert.Equal(4, changed);
        Assert.Equal(["default", "mail"], notified.Order());
        foreach (var (id, maxAttempts) in new[] { (spent, 4), (cancelled, 3), (completed, 2), (scheduled, 3) })
        {
            var job = (await db.Monitor.GetAsync(id, default))!.Job;
            Assert.Equal(JobState.Available, job.State);
            Assert.Equal(maxAttempts, job.MaxAttempts);
            Assert.Equal(Noon.AddMinutes(5), job.ScheduledAt);
            Assert.Null(job.FinalizedAt);
        }
        Assert.Equal(JobState.Running, (await db.Monitor.GetAsync(running, default))!.Job.State);
        Assert.Equal(Noon, (await db.Monitor.GetAsync(available, default))!.Job.ScheduledAt);
    }

    [Fact]
    public async Task Retry_leaves_a_finished_job_alone_when_a_live_job_holds_its_unique_key()
    {
        await using var db = await PassiveAsync();
        var old = await db.InsertOneAsync(JobState.Discarded, attempt: 3, uniqueKey: "k");
        await db.InsertOneAsync(JobState.Scheduled, uniqueKey: "k");
        var older = await db.InsertOneAsync(JobState.Completed, attempt: 1, uniqueKey: "free");
        var newer = await db.InsertOneAsync(JobState.Completed, attempt: 1, uniqueKey: "free");

        Assert.Equal(1, await db.Monitor.RetryAsync([old, older, newer], default));
        Assert.Equal(JobState.Discarded, (await db.Monitor.GetAsync(old, default))!.Job.State);
        Assert.Equal(JobState.Completed, (await db.Monitor.GetAsync(older, default))!.Job.State);
        Assert.Equal(JobState.Available, (await db.Monitor.GetAsync(newer, default))!.Job.State);
    }

    [Fact]
    public async Task A_retried_discarded_job_runs_again_and_succeeds()
    {
        await using var db = await EngineAsync();
        var id = (await db.Engine.Client.EnqueueAsync(new FlakyArgs(Failures: 1), new EnqueueOptions { MaxAttempts = 1 })).JobId;
        await Eventually.That(async () => (await db.Monitor.GetAsync(id, default))?.Job.State == JobState.Discarded);

        Assert.Equal(1, await db.Monitor.RetryAsync([id], default));
        await Eventually.That(async () => (await db.Monitor.GetAsync(id, default))?.Job.State == JobState.Completed);

        var details = (await db.Monitor.GetAsync(id, default))!;
        Assert.Equal(2, details.Job.Attempt);
        Assert.Equal(2, details.Job.MaxAttempts);
        Assert.Single(details.Errors);
    }

    [Fact]
    public async Task Cancel_ends_unfinished_jobs_with_the_reason_recorded_and_leaves_finished_ones()
    {
        var clock = new ManualClock(Noon);
        await using var db = await PassiveAsync(clock);
        var available = await db.InsertOneAsync(JobState.Available);
        var retryable = await db.InsertOneAsync(JobState.Retryable, attempt: 2);
        var completed = await db.InsertOneAsync(JobState.Completed, attempt: 1);
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(2, await db.Monitor.CancelAsync([available, retryable, completed], default));

        foreach (var (id, attempt) in new[] { (available, 0), (retryable, 2) })
        {
            var details = (await db.Monitor.GetAsync(id, default))!;
            Assert.Equal(JobState.Cancelled, details.Job.State);
            Assert.Equal(Noon.AddMinutes(1), details.Job.FinalizedAt);
            Assert.Equal("cancelled by an operator", details.Job.LastError);
            Assert.Equal(new JobError(attempt, Noon.AddMinutes(1), "Cancelled", "cancelled by an operator", null), details.Errors[^1]);
        }
        Assert.Equal(JobState.Completed, (await db.Monitor.GetAsync(completed, default))!.Job.State);
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_its_handler_and_the_job_stays_cancelled()
    {
        await using var db = await EngineAsync();
        await Eventually.That(() => db.Engine.Host.IsListening);
        var block = new BlockArgs(Guid.NewGuid().ToString());
        var id = (await db.Engine.Client.EnqueueAsync(block)).JobId;
        await BlockHandler.Started(block.Key);

        Assert.Equal(1, await db.Monitor.CancelAsync([id], default));

        await BlockHandler.Stopped(block.Key);
        await Eventually.That(async () => (await db.Monitor.WorkersAsync(default)).Single().RunningJobs == 0);
        var details = (await db.Monitor.GetAsync(id, default))!;
        Assert.Equal(JobState.Cancelled, details.Job.State);
        Assert.Equal("Cancelled", Assert.Single(details.Errors).Type);
    }

    [Fact]
    public async Task Delete_removes_chosen_jobs_but_never_a_running_one()
    {
        await using var db = await PassiveAsync();
        var completed = await db.InsertOneAsync(JobState.Completed, attempt: 1);
        var scheduled = await db.InsertOneAsync(JobState.Scheduled);
        var running = await db.InsertOneAsync(JobState.Running, attempt: 1);

        Assert.Equal(2, await db.Monitor.DeleteAsync([completed, scheduled, running], default));

        Assert.Null(await db.Monitor.GetAsync(completed, default));
        Assert.Null(await db.Monitor.GetAsync(scheduled, default));
        Assert.Equal(JobState.Running, (await db.Monitor.GetAsync(running, default))!.Job.State);
        Assert.Equal(1, (await db.Monitor.CountsAsync(default)).ByState.Values.Sum());
    }

    // ---- actions on everything matching a filter (more than one batch of 5,000) ----

    [Fact]
    public async Task Retry_matching_retries_every_stopped_job_of_the_filter_in_batches()
    {
        await using var db = await PassiveAsync();
        await db.InsertAsync(JobState.Discarded, count: 6_000, queue: "mail");
        await db.InsertAsync(JobState.Completed, count: 5_001, queue: "mail");
        await db.InsertAsync(JobState.Running, count: 10, queue: "mail");
        await db.InsertAsync(JobState.Discarded, count: 20, queue: "default");

        Assert.Equal(11_001, await db.Monitor.RetryMatchingAsync(new JobFilter(Queue: "mail"), default));

        QueueCount[] expected = [new("default", JobState.Discarded, 20), new("mail", JobState.Available, 11_001), new("mail", JobState.Running, 10)];
        Assert.Equal(expected, (await db.Monitor.CountsAsync(default)).ByQueue);
        Assert.Equal(0, await db.Monitor.RetryMatchingAsync(new JobFilter(State: JobState.Running), default));
    }

    [Fact]
    public async Task Cancel_matching_cancels_every_unfinished_job_of_the_filter_and_tells_running_ones_to_stop()
    {
        await using var db = await PassiveAsync();
        await db.InsertAsync(JobState.Available, count: 7_000, kind: "report");
        var running = await db.InsertOneAsync(JobState.Running, attempt: 1, kind: "report");
        await db.InsertAsync(JobState.Completed, count: 3, kind: "report");
        await db.InsertAsync(JobState.Available, count: 5, kind: "note");

        var (changed, notified) = await ListenAsync(db, $"{Schema}_cancel",
            () => db.Monitor.CancelMatchingAsync(new JobFilter(Kind: "report"), default));

        Assert.Equal(7_001, changed);
        Assert.Equal([running.ToString()], notified);
        var counts = (await db.Monitor.CountsAsync(default)).ByState;
        Assert.Equal((7_001, 3, 5), (counts[JobState.Cancelled], counts[JobState.Completed], counts[JobState.Available]));
    }

    [Fact]
    public async Task Delete_matching_deletes_every_job_of_the_filter_except_running_ones()
    {
        await using var db = await PassiveAsync();
        await db.InsertAsync(JobState.Completed, count: 6_000, text: "purge me");
        await db.InsertAsync(JobState.Retryable, count: 10, text: "PURGE me too");
        await db.InsertAsync(JobState.Running, count: 2, text: "purge me");
        await db.InsertAsync(JobState.Completed, count: 4, text: "keep me");

        Assert.Equal(0, await db.Monitor.DeleteMatchingAsync(new JobFilter(State: JobState.Running), default));
        Assert.Equal(6_010, await db.Monitor.DeleteMatchingAsync(new JobFilter(Text: "purge"), default));

        var counts = (await db.Monitor.CountsAsync(default)).ByState;
        Assert.Equal((2, 4, 0), (counts[JobState.Running], counts[JobState.Completed], counts[JobState.Retryable]));
    }

    // ---- helpers ----

    private static void Register(IServiceCollection services)
    {
        services.AddJob<NoteArgs, NoteHandler>("note");
        services.AddJob<FlakyArgs, FlakyHandler>("flaky", k => k.Retry = RetryPolicy.Fixed(TimeSpan.FromMilliseconds(10)));
        services.AddJob<BlockArgs, BlockHandler>("block");
    }

    /// <summary>A running engine on a fresh database.</summary>
    private async Task<TestDb> EngineAsync(Action<QueueOptions>? configure = null)
    {
        var engine = await EngineInstance.StartAsync(await fixture.CreateExtraDatabaseAsync(), Register, o =>
        {
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
            configure?.Invoke(o);
        });
        return new TestDb(engine);
    }

    /// <summary>A fresh migrated database that nothing works on: jobs stay as the test puts them.</summary>
    private async Task<TestDb> PassiveAsync(TimeProvider? clock = null)
    {
        var engine = await EngineInstance.StartAsync(await fixture.CreateExtraDatabaseAsync(), Register,
            o => { o.Queues = new(); o.RunMaintenance = false; }, clock, start: false);
        await engine.Services.GetRequiredService<MigrationRunner>().MigrateAsync(default);
        return new TestDb(engine);
    }

    /// <summary>Walks every page and compares with what a plain query over the table says, in order.</summary>
    private async Task AssertWalkAsync(TestDb db, JobFilter filter, string where, int limit, int? scanWindow = null)
    {
        var expected = await db.IdsAsync($"SELECT id FROM {Schema}.jobs WHERE {where} ORDER BY id DESC");
        var seen = new List<long>();
        long? before = null;
        var pages = 0;
        do
        {
            var page = await db.Monitor.ListAsync(filter, before, limit, default, scanWindow);
            Assert.True(page.Jobs.Count <= limit);
            // Without a scan window, only the last page is short.
            Assert.True(scanWindow is not null || page.NextBeforeId is null || page.Jobs.Count == limit);
            seen.AddRange(page.Jobs.Select(j => j.Id));
            before = page.NextBeforeId;
            pages++;
        } while (before is not null);

        Assert.NotEmpty(expected);
        Assert.Equal(expected, seen);
        output.WriteLine($"{filter}: {seen.Count} jobs in {pages} pages");
    }

    /// <summary>Shows the plan of the list query (not asserted: plans vary by server and statistics).</summary>
    private async Task ExplainAsync(TestDb db, JobFilter filter, long? beforeId)
    {
        var sql = new MonitorSql(Schema);
        var parameters = new List<NpgsqlParameter>();
        var where = sql.Where(filter, null, beforeId, parameters);
        var query = sql.List(where, MonitorSql.Add(parameters, 51, NpgsqlDbType.Integer));
        await using var command = db.DataSource.CreateCommand("EXPLAIN (ANALYZE, COSTS OFF) " + query);
        command.Parameters.AddRange(parameters.ToArray());
        await using var reader = await command.ExecuteReaderAsync();
        output.WriteLine($"-- {filter}");
        while (await reader.ReadAsync()) output.WriteLine(reader.GetString(0));
    }

    private static async Task<List<long>> IdsAsync(JobMonitor monitor, JobFilter filter) =>
        (await monitor.ListAsync(filter, null, 500, default)).Jobs.Select(j => j.Id).ToList();

    /// <summary>Runs <paramref name="action"/> while listening on <paramref name="channel"/>; returns its result and the payloads heard.</summary>
    private static async Task<(int Result, List<string> Payloads)> ListenAsync(TestDb db, string channel, Func<Task<int>> action)
    {
        var payloads = new List<string>();
        await using var connection = await db.DataSource.OpenConnectionAsync();
        connection.Notification += (_, e) => payloads.Add(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN {channel}", connection))
            await listen.ExecuteNonQueryAsync();
        var result = await action();
        // Notifications arrive at commit, already done; wait until the connection stays quiet.
        while (await connection.WaitAsync(TimeSpan.FromMilliseconds(300))) { }
        return (result, payloads);
    }


    private sealed class TestDb(EngineInstance engine) : IAsyncDisposable
    {
        public EngineInstance Engine => engine;
        public JobMonitor Monitor { get; } = engine.Services.GetRequiredService<JobMonitor>();
        public NpgsqlDataSource DataSource { get; } = engine.Services.GetRequiredService<NpgsqlDataSource>();
        private TimeProvider Clock => engine.Services.GetRequiredService<TimeProvider>();

        public async Task ExecuteAsync(string sql)
        {
            await using var command = DataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync();
        }

        public async Task<T> ScalarAsync<T>(string sql)
        {
            await using var command = DataSource.CreateCommand(sql);
            return (T)(await command.ExecuteScalarAsync())!;
        }

        public async Task<List<long>> IdsAsync(string sql)
        {
            await using var command = DataSource.CreateCommand(sql);
            var ids = new List<long>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) ids.Add(reader.GetInt64(0));
            return ids;
        }

        public Task FoldAsync() => ExecuteAsync(new JobSql(Schema).FoldCounts);

        public async Task<long> InsertOneAsync(JobState state, int attempt = 0, int maxAttempts = 3, string queue = "default",
            string kind = "note", string? uniqueKey = null) =>
            (await InsertAsync(state, 1, attempt, maxAttempts, queue, kind, "one", uniqueKey)).Single();

        /// <summary>Jobs put straight into a state, as the engine would have left them, and counted as it counts them.</summary>
        public async Task<List<long>> InsertAsync(JobState state, int count, int? attempt = null, int maxAttempts = 3, string queue = "default",
            string kind = "note", string text = "bulk", string? uniqueKey = null)
        {
            var tried = attempt ?? (state is JobState.Available or JobState.Scheduled ? 0 : state == JobState.Discarded ? maxAttempts : 1);
            var now = Clock.GetUtcNow();
            await using var command = DataSource.CreateCommand($"""
                WITH inserted AS (
                    INSERT INTO {Schema}.jobs (kind, queue, state, args, attempt, max_attempts, unique_key, created_at, scheduled_at,
                                               attempted_at, attempted_by, finalized_at)
                    SELECT $1, $2, $3::{Schema}.job_state, jsonb_build_object('text', $4 || ' ' || i), $5, $6, $7, $8, $8, $9, $10, $11
                    FROM generate_series(1, $12) i
                    RETURNING id, queue, NULL::{Schema}.job_state AS old_state, state AS new_state),
                {new JobSql(Schema).CountDeltas("inserted")}
                SELECT id FROM inserted ORDER BY id
                """);
            object?[] values =
            [
                kind, queue, state.ToDb(), text, tried, maxAttempts, uniqueKey, now,
                tried > 0 ? now : null, state == JobState.Running ? "ghost-worker" : null, state.IsFinal() ? now : null, count,
            ];
            NpgsqlDbType[] types =
            [
                NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Integer, NpgsqlDbType.Integer,
                NpgsqlDbType.Text, NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.Text, NpgsqlDbType.TimestampTz, NpgsqlDbType.Integer,
            ];
            for (var i = 0; i < values.Length; i++)
                command.Parameters.Add(new NpgsqlParameter { Value = values[i] ?? DBNull.Value, NpgsqlDbType = types[i] });
            var ids = new List<long>(count);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) ids.Add(reader.GetInt64(0));
            return ids;
        }

        public ValueTask DisposeAsync() => engine.DisposeAsync();
    }
}

public sealed record NoteArgs(string Text);

public sealed class NoteHandler : IJobHandler<NoteArgs>
{
    public Task<JobResult> RunAsync(JobContext<NoteArgs> job, CancellationToken cancellationToken) => Task.FromResult(JobResult.Completed);
}

/// <summary>Fails its first <paramref name="Failures"/> attempts.</summary>
public sealed record FlakyArgs(int Failures);

public sealed class FlakyHandler : IJobHandler<FlakyArgs>
{
    public Task<JobResult> RunAsync(JobContext<FlakyArgs> job, CancellationToken cancellationToken) =>
        job.Attempt <= job.Args.Failures
            ? throw new InvalidOperationException($"failure {job.Attempt}")
            : Task.FromResult(JobResult.Completed);
}

/// <summary>Runs until its cancellation token fires; the test follows it by key.</summary>
public sealed record BlockArgs(string Key);

public sealed class BlockHandler : IJobHandler<BlockArgs>
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> StartedJobs = new();
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> StoppedJobs = new();

    public static Task Started(string key) => Signal(StartedJobs, key).Task.WaitAsync(TimeSpan.FromSeconds(15));
    public static Task Stopped(string key) => Signal(StoppedJobs, key).Task.WaitAsync(TimeSpan.FromSeconds(15));

    public async Task<JobResult> RunAsync(JobContext<BlockArgs> job, CancellationToken cancellationToken)
    {
        Signal(StartedJobs, job.Args.Key).TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return JobResult.Completed;
        }
        finally
        {
            Signal(StoppedJobs, job.Args.Key).TrySetResult();
        }
    }

    private static TaskCompletionSource Signal(ConcurrentDictionary<string, TaskCompletionSource> signals, string key) =>
        signals.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
