using System.Diagnostics;
using System.Text.Json;
using Dispatcher.Queue;
using Dispatcher.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dispatcher.Tests.Queue;

public sealed class OutcomeTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private readonly RunLog _log = new();

    [Fact]
    public async Task A_throwing_handler_is_retried_on_its_curve_then_discarded_with_every_error_kept()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var clock = new ManualClock(Start);
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<FailArgs, FailHandler>("fail", k => { k.MaxAttempts = 3; k.Retry = RetryPolicy.Exponential(TimeSpan.FromSeconds(10), jitter: 0); });
        }, o => o.RescueAfter = TimeSpan.FromHours(1), clock);

        var job = (await engine.Client.EnqueueAsync(new FailArgs(FailTimes: 100))).JobId;

        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal(Start + TimeSpan.FromSeconds(10), await RetryAt(cs, job));

        clock.Advance(TimeSpan.FromSeconds(9));
        await Task.Delay(300);
        Assert.Single(_log.Runs); // not due yet

        clock.Advance(TimeSpan.FromSeconds(1));
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal(Start + TimeSpan.FromSeconds(30), await RetryAt(cs, job));

        clock.Advance(TimeSpan.FromSeconds(20));
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));

        Assert.Equal(JobState.Discarded, await EnqueueTests.StateOf(cs, job, JobState.Discarded));
        Assert.Equal([Start, Start.AddSeconds(10), Start.AddSeconds(30)], _log.Runs.Select(r => r.At));
        var errors = await ErrorsOf(cs, job);
        Assert.Equal([1, 2, 3], errors.Select(e => e.Attempt));
        Assert.All(errors, e =>
        {
            Assert.Equal(typeof(InvalidOperationException).FullName, e.Type);
            Assert.StartsWith("boom on attempt", e.Message);
            Assert.Contains(nameof(FailHandler), e.Stack);
        });
        Assert.Equal([Start, Start.AddSeconds(10), Start.AddSeconds(30)], errors.Select(e => e.At));
    }

    [Fact]
    public void The_default_retry_follows_Hangfire_AutomaticRetry()
    {
        var kind = new JobKindOptions();
        var random = new Random(7);

        Assert.Equal(10, kind.MaxAttempts);
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var delay = kind.Retry.DelayAfter(attempt, random).TotalSeconds;
            var floor = Math.Pow(attempt - 1, 4) + 15;
            Assert.InRange(delay, floor, floor + 29 * attempt);
        }
    }

    [Fact]
    public async Task A_job_that_fails_then_succeeds_ends_completed_with_its_error_kept()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<FailArgs, FailHandler>("fail", k => k.Retry = RetryPolicy.Fixed(TimeSpan.FromMilliseconds(100)));
        });

        var job = (await engine.Client.EnqueueAsync(new FailArgs(FailTimes: 1))).JobId;

        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job, JobState.Completed));
        Assert.Single(await ErrorsOf(cs, job));
        Assert.Equal(2, _log.Runs.Count);
    }

    [Fact]
    public async Task A_snoozed_job_runs_again_later_without_spending_an_attempt()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<SnoozeArgs, SnoozeHandler>("snooze", k => k.MaxAttempts = 1);
        });

        var job = (await engine.Client.EnqueueAsync(new SnoozeArgs(Times: 3))).JobId;

        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job, JobState.Completed));
        Assert.Equal(4, _log.Runs.Count);
        Assert.All(_log.Runs, r => Assert.Equal(1, r.Attempt));
        Assert.Empty(await ErrorsOf(cs, job));
    }

    [Fact]
    public async Task A_short_snooze_wakes_on_time_rather_than_at_the_next_stager_round()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<SnoozeArgs, SnoozeHandler>("snooze");
        }, o => o.StageInterval = TimeSpan.FromSeconds(5));

        await engine.Client.EnqueueAsync(new SnoozeArgs(Times: 3)); // snoozes 50 ms three times

        await _log.WaitForRunsAsync(4, TimeSpan.FromSeconds(3)); // a 5 s stager interval would take 15 s
    }

    [Fact]
    public async Task Waking_a_snoozing_job_by_its_unique_key_runs_it_now()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<NoteArgs, NoteHandler>("note");
        });
        var job = await engine.Client.EnqueueAsync(new NoteArgs("later"), new EnqueueOptions { UniqueKey = "batch:7", Delay = TimeSpan.FromHours(1) });

        Assert.True(await engine.Client.WakeAsync("batch:7"));

        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(5));
        Assert.Equal(job.JobId, _log.Runs[0].JobId);
        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job.JobId, JobState.Completed));
        Assert.False(await engine.Client.WakeAsync("batch:7")); // finished: nothing waits any more
    }

    [Fact]
    public async Task Waking_a_running_job_makes_it_run_once_more_when_it_ends()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<WaitArgs, WaitHandler>("wait");
        });
        var job = await engine.Client.EnqueueAsync(new WaitArgs(300), new EnqueueOptions { UniqueKey = "batch:8" });
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(5));

        Assert.True(await engine.Client.WakeAsync("batch:8")); // it is deciding to stop: the wake-up must not be lost

        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(5));
        Assert.All(_log.Runs, r => Assert.Equal((job.JobId, 1), (r.JobId, r.Attempt)));
        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job.JobId, JobState.Completed));
    }

    [Fact]
    public async Task A_handler_can_cancel_its_job_for_good()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s => s.AddJob<CancelArgs, CancelHandler>("cancel"));

        var job = (await engine.Client.EnqueueAsync(new CancelArgs("number is on the do-not-call list"))).JobId;

        Assert.Equal(JobState.Cancelled, await EnqueueTests.StateOf(cs, job, JobState.Cancelled));
        Assert.Equal("number is on the do-not-call list", Assert.Single(await ErrorsOf(cs, job)).Message);
    }

    [Fact]
    public async Task An_attempt_longer_than_its_kinds_timeout_is_cancelled_and_counts_as_failed()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<WaitArgs, WaitHandler>("wait", k => { k.Timeout = TimeSpan.FromMilliseconds(200); k.MaxAttempts = 1; });
        });

        var job = (await engine.Client.EnqueueAsync(new WaitArgs(60_000))).JobId;

        Assert.Equal(JobState.Discarded, await EnqueueTests.StateOf(cs, job, JobState.Discarded));
        var error = Assert.Single(await ErrorsOf(cs, job));
        Assert.Equal("Timeout", error.Type);
    }

    [Fact]
    public async Task A_job_of_a_kind_no_instance_knows_fails_with_a_clear_error_instead_of_vanishing()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var engine = await EngineInstance.StartAsync(cs, s => s.AddJob<NoteArgs, NoteHandler>("note").AddSingleton(_log));
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var insert = dataSource.CreateCommand("""
            INSERT INTO dispatcher.jobs (kind, queue, state, args, max_attempts, created_at, scheduled_at)
            VALUES ('renamed-long-ago', 'default', 'available', '{}', 1, now(), now()) RETURNING id
            """);
        var job = (long)(await insert.ExecuteScalarAsync())!;
        await engine.Client.EnqueueAsync(new NoteArgs("wake the worker"));

        Assert.Equal(JobState.Discarded, await EnqueueTests.StateOf(cs, job, JobState.Discarded));
        Assert.Contains("renamed-long-ago", Assert.Single(await ErrorsOf(cs, job)).Message);
    }

    [Fact]
    public async Task Finished_jobs_are_pruned_after_their_keep_time_and_counts_follow()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var clock = new ManualClock(Start);
        await using var engine = await EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<NoteArgs, NoteHandler>("note");
            s.AddJob<FailArgs, FailHandler>("fail", k => k.MaxAttempts = 1);
        }, o => { o.RescueAfter = TimeSpan.FromDays(30); o.PruneInterval = TimeSpan.FromHours(1); }, clock);
        var monitor = engine.Services.GetRequiredService<Dispatcher.Queue.Monitoring.JobMonitor>();
        var completed = (await engine.Client.EnqueueAsync(new NoteArgs("done"))).JobId;
        var failed = (await engine.Client.EnqueueAsync(new FailArgs(FailTimes: 1))).JobId;
        await EnqueueTests.StateOf(cs, completed, JobState.Completed);
        await EnqueueTests.StateOf(cs, failed, JobState.Discarded);

        clock.Advance(TimeSpan.FromHours(25)); // past the day completed jobs are kept, within the week failed ones are
        await Eventually.That(async () => !await ExistsAsync(cs, completed), "the completed job pruned");
        Assert.True(await ExistsAsync(cs, failed));

        clock.Advance(TimeSpan.FromDays(7));
        await Eventually.That(async () => !await ExistsAsync(cs, failed), "the failed job pruned");
        await Eventually.That(async () => (await monitor.CountsAsync()).ByState.Values.Sum() == 0, "counts back to zero");
    }

    private static async Task<bool> ExistsAsync(string cs, long job)
    {
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM dispatcher.jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = job });
        return (long)(await command.ExecuteScalarAsync())! == 1;
    }

    private static async Task<DateTimeOffset> RetryAt(string cs, long job)
    {
        Assert.Equal(JobState.Retryable, await EnqueueTests.StateOf(cs, job, JobState.Retryable));
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var command = dataSource.CreateCommand("SELECT scheduled_at FROM dispatcher.jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = job });
        return new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync())!, TimeSpan.Zero);
    }

    internal static async Task<List<JobError>> ErrorsOf(string cs, long job)
    {
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var command = dataSource.CreateCommand("SELECT errors::text FROM dispatcher.jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = job });
        return JsonSerializer.Deserialize<List<JobError>>((string)(await command.ExecuteScalarAsync())!)!;
    }
}

public sealed record SnoozeArgs(int Times);

public sealed class SnoozeHandler(RunLog log, TimeProvider clock) : IJobHandler<SnoozeArgs>
{
    public Task<JobResult> RunAsync(JobContext<SnoozeArgs> job, CancellationToken ct)
    {
        log.Record(job.Id, job.Attempt, clock.GetUtcNow());
        return Task.FromResult(log.Runs.Count <= job.Args.Times ? JobResult.Snooze(TimeSpan.FromMilliseconds(50)) : JobResult.Completed);
    }
}

public sealed record CancelArgs(string Reason);

public sealed class CancelHandler : IJobHandler<CancelArgs>
{
    public Task<JobResult> RunAsync(JobContext<CancelArgs> job, CancellationToken ct) => Task.FromResult(JobResult.Cancel(job.Args.Reason));
}
