using Dispatcher.Queue;
using Dispatcher.Queue.Recurring;
using Dispatcher.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dispatcher.Tests.Queue;

public sealed class RecurringTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private readonly RunLog _log = new();

    private Task<EngineInstance> StartAsync(string cs, string cron, TimeProvider? clock = null, Action<RecurringJobOptions>? recurring = null) =>
        EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            s.AddJob<NoteArgs, NoteHandler>("note");
            s.AddRecurringJob("tick", cron, new NoteArgs("tick"), recurring);
        }, o => o.RescueAfter = TimeSpan.FromHours(1), clock);

    [Fact]
    public async Task Three_instances_enqueue_each_occurrence_of_a_per_second_job_exactly_once()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var engines = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => StartAsync(cs, "* * * * * *")));
        await Task.Delay(TimeSpan.FromSeconds(10));
        await Task.WhenAll(engines.Select(e => e.DisposeAsync().AsTask()));

        var occurrences = await OccurrencesAsync(cs);
        Assert.InRange(occurrences.Count, 9, 11);
        Assert.Equal(occurrences.Count, occurrences.Distinct().Count());
        Assert.All(occurrences.Zip(occurrences.Skip(1)), pair => Assert.Equal(TimeSpan.FromSeconds(1), pair.Second - pair.First));
    }

    [Fact]
    public async Task Occurrences_follow_the_cron_on_the_engines_clock()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var clock = new ManualClock(Start.AddSeconds(-1));
        await using var engine = await StartAsync(cs, "*/5 * * * *", clock); // every five minutes

        for (var i = 1; i <= 3; i++)
        {
            clock.Advance(i == 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromMinutes(5));
            await Eventually.That(async () => (await OccurrencesAsync(cs)).Count == i, $"occurrence {i}");
        }

        Assert.Equal([Start, Start.AddMinutes(5), Start.AddMinutes(10)], await OccurrencesAsync(cs));
    }

    [Fact]
    public async Task After_downtime_the_relaxed_policy_runs_one_catch_up_occurrence()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var clock = new ManualClock(Start.AddSeconds(-1));
        await using (await StartAsync(cs, "* * * * *", clock)) { }

        clock.Advance(TimeSpan.FromHours(1)); // an hour with no instance running: 60 occurrences missed
        await using var engine = await StartAsync(cs, "* * * * *", clock);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.That(async () => (await OccurrencesAsync(cs)).Count >= 1, "the catch-up run");
        await Task.Delay(300);

        Assert.Equal([Start.AddMinutes(59)], await OccurrencesAsync(cs)); // the latest one
    }

    [Fact]
    public void Misfire_policies_choose_which_missed_occurrences_run()
    {
        var all = Enumerable.Range(0, 5).Select(i => Start.AddMinutes(i)).ToList();
        var missedBefore = Start.AddMinutes(3); // 0, 1, 2 missed; 3, 4 on time

        Assert.Equal([all[4]], RecurringJobs.Select(all, missedBefore, MisfirePolicy.Relaxed));
        Assert.Equal(all, RecurringJobs.Select(all, missedBefore, MisfirePolicy.Strict));
        Assert.Equal([all[3], all[4]], RecurringJobs.Select(all, missedBefore, MisfirePolicy.Ignore));
        Assert.Equal(all, RecurringJobs.Select(all, Start, MisfirePolicy.Relaxed)); // nothing missed: a lagging leader catches up on each
    }

    [Fact]
    public async Task The_schedule_is_listed_with_next_run_last_run_and_last_outcome()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var clock = new ManualClock(Start.AddSeconds(-1));
        await using var engine = await StartAsync(cs, "0 10 * * *", clock, r => r.TimeZone = "Europe/Berlin");
        var recurring = engine.Services.GetRequiredService<RecurringJobs>();

        var before = Assert.Single(await recurring.ListAsync(CancellationToken.None));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero), before.NextRunAt); // 10:00 in Berlin is 09:00 UTC in winter
        Assert.Null(before.LastRunAt);

        clock.Advance(TimeSpan.FromSeconds(1));
        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));
        await Eventually.That(async () => (await recurring.ListAsync(CancellationToken.None))[0].LastJobState == JobState.Completed, "the run completed");

        var after = Assert.Single(await recurring.ListAsync(CancellationToken.None));
        Assert.Equal(Start, after.LastRunAt);
        Assert.Equal(Start.AddDays(1), after.NextRunAt);
        Assert.Equal("Europe/Berlin", after.TimeZone);
    }

    [Fact]
    public async Task Trigger_now_runs_once_without_moving_the_schedule()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var clock = new ManualClock(Start);
        await using var engine = await StartAsync(cs, "0 0 1 1 *", clock); // yearly
        var recurring = engine.Services.GetRequiredService<RecurringJobs>();
        var next = (await recurring.ListAsync(CancellationToken.None))[0].NextRunAt;

        var jobId = await recurring.TriggerAsync("tick", CancellationToken.None);

        await _log.WaitForRunsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal(jobId, _log.Runs[0].JobId);
        Assert.Equal(next, (await recurring.ListAsync(CancellationToken.None))[0].NextRunAt);
        Assert.Null(await recurring.TriggerAsync("no-such-job", CancellationToken.None));
    }

    [Fact]
    public async Task A_paused_job_does_not_run_and_resumes_from_now_without_catching_up()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        var clock = new ManualClock(Start.AddSeconds(-1));
        await using var engine = await StartAsync(cs, "* * * * *", clock);
        var recurring = engine.Services.GetRequiredService<RecurringJobs>();

        Assert.True(await recurring.PauseAsync("tick", CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(10));
        await Task.Delay(300);
        Assert.Empty(await OccurrencesAsync(cs));
        Assert.True((await recurring.ListAsync(CancellationToken.None))[0].Paused);

        Assert.True(await recurring.ResumeAsync("tick", CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(1));
        await Eventually.That(async () => (await OccurrencesAsync(cs)).Count == 1, "one run after resuming");
        await Task.Delay(300);
        Assert.Equal([Start.AddMinutes(10)], await OccurrencesAsync(cs));
    }

    [Fact]
    public void A_bad_cron_or_time_zone_is_refused_at_declaration()
    {
        var services = new ServiceCollection();
        Assert.Throws<FormatException>(() => services.AddRecurringJob("bad", "61 * * * *", new NoteArgs("x")));
        var zone = Assert.Throws<ArgumentException>(() => services.AddRecurringJob("bad", "* * * * *", new NoteArgs("x"), r => r.TimeZone = "Mars/Olympus"));
        Assert.Contains("Mars/Olympus", zone.Message);
    }

    private static async Task<List<DateTimeOffset>> OccurrencesAsync(string cs)
    {
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var command = dataSource.CreateCommand(
            "SELECT (metadata->>'occurrence')::timestamptz FROM dispatcher.jobs WHERE metadata->>'recurring' = 'tick' ORDER BY 1");
        var list = new List<DateTimeOffset>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) list.Add(reader.GetFieldValue<DateTimeOffset>(0));
        return list;
    }
}
