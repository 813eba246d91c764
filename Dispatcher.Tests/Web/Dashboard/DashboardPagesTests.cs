using System.Net;
using System.Text.RegularExpressions;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Tests.Onboarding;
using Npgsql;
using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;
using Dispatcher.Testing;
using Dispatcher.Web.Dashboard;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>What the dashboard's pages show and where their links lead; over HTTP, against the real service and PostgreSQL.</summary>
public sealed partial class DashboardPagesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    /// <summary>"held" jobs wait in a queue no worker serves, so a test decides what the lists hold.</summary>
    private static void HeldJobs(IServiceCollection services) =>
        services.AddJob<HeldArgs, HeldHandler>("held-job", k => k.Queue = "held");

    [Fact]
    public async Task Job_lists_page_older_and_back_newer_by_keyset_and_the_first_page_has_no_newer_link()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: HeldJobs);
        var ids = (await app.Get<JobClient>().EnqueueManyAsync(Enumerable.Range(0, 45).Select(i => new JobRequest(new HeldArgs(i))).ToList()))
            .Select(r => r.JobId).OrderDescending().ToList();
        using var client = app.CreateClient();

        var first = await client.GetStringAsync("/dashboard/jobs?queue=held");
        Assert.Equal(ids.Take(20), JobIds(first));
        Assert.DoesNotContain("rel=\"prev\"", first);

        var second = await client.GetStringAsync(PagerLink(first, "next"));
        Assert.Equal(ids.Skip(20).Take(20), JobIds(second));
        var third = await client.GetStringAsync(PagerLink(second, "next"));
        Assert.Equal(ids.Skip(40), JobIds(third));
        Assert.DoesNotContain("rel=\"next\"", third);

        // Back up: the page above the last one is the second, and above that the first again.
        var backToSecond = await client.GetStringAsync(PagerLink(third, "prev"));
        Assert.Equal(ids.Skip(20).Take(20), JobIds(backToSecond));
        var backToFirst = await client.GetStringAsync(PagerLink(backToSecond, "prev"));
        Assert.Equal(ids.Take(20), JobIds(backToFirst));
        Assert.DoesNotContain("rel=\"prev\"", backToFirst);
    }

    [Fact]
    public async Task A_chosen_page_size_survives_filtering_and_paging()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: HeldJobs);
        await app.Get<JobClient>().EnqueueManyAsync(Enumerable.Range(0, 12).Select(i => new JobRequest(new HeldArgs(i))).ToList());
        using var client = app.CreateClient();

        var page = await client.GetStringAsync("/dashboard/jobs?queue=held&size=5");

        Assert.Equal(5, JobIds(page).Count);
        Assert.Contains("name=\"size\" value=\"5\"", page); // the filter form keeps it
        Assert.Contains("size=5", PagerLink(page, "next"));
    }

    [Fact]
    public async Task Paging_newer_keeps_the_filter_and_finds_matches_beyond_the_bounded_search()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: HeldJobs);
        var jobs = app.Get<JobClient>();
        var wanted = (await jobs.EnqueueManyAsync(Enumerable.Range(0, 3).Select(i => new JobRequest(new HeldArgs(i, "needle"))).ToList())).Select(r => r.JobId).ToList();
        var monitor = app.Get<JobMonitor>();

        var page = await monitor.ListNewerAsync(new JobFilter(Text: "needle"), afterId: 0, limit: 2);
        Assert.Equal(wanted.Take(2).Reverse(), page.Jobs.Select(j => j.Id));
        Assert.Equal(wanted[1], page.NewerAfterId);
        var top = await monitor.ListNewerAsync(new JobFilter(Text: "needle"), page.NewerAfterId!.Value, limit: 2);
        Assert.Equal([wanted[2]], top.Jobs.Select(j => j.Id));
        Assert.Null(top.NewerAfterId);

        // A bounded walk upwards that finds nothing says where it stopped, so the next page goes on from there.
        await jobs.EnqueueManyAsync(Enumerable.Range(0, 5).Select(i => new JobRequest(new HeldArgs(i))).ToList());
        var walked = await monitor.ListNewerAsync(new JobFilter(Text: "nothing-like-this"), afterId: 0, limit: 2, scanWindow: 4);
        Assert.Empty(walked.Jobs);
        Assert.Equal((await monitor.ListNewerAsync(JobFilter.All, afterId: 0, limit: 4)).Jobs[0].Id, walked.NewerAfterId);
    }

    [Fact]
    public async Task Searching_a_job_id_opens_its_page_and_a_bad_id_is_a_clear_error()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: HeldJobs);
        var job = await app.Get<JobClient>().EnqueueAsync(new HeldArgs(7));
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(app.BaseUrl) };

        Assert.Contains("name=\"id\"", await client.GetStringAsync("/dashboard/jobs"));
        var found = await client.GetAsync($"/dashboard/jobs?id=%23{job.JobId}");
        Assert.Equal(HttpStatusCode.SeeOther, found.StatusCode);
        Assert.Equal($"/dashboard/jobs/{job.JobId}", found.Headers.Location!.OriginalString);

        var bad = await client.GetAsync("/dashboard/jobs?id=abc");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("not a job id", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_snoozed_jobs_page_shows_its_last_run_not_an_attempt_0_and_offers_to_run_it_now()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: s => s.AddJob<SleepyArgs, SleepyHandler>("sleepy"));
        var job = await app.Get<JobClient>().EnqueueAsync(new SleepyArgs());
        var monitor = app.Get<JobMonitor>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await monitor.GetAsync(job.JobId))!.Job is not { State: JobState.Scheduled, AttemptedAt: not null })
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the job did not snooze");
            await Task.Delay(50);
        }

        var html = await app.CreateClient().GetStringAsync($"/dashboard/jobs/{job.JobId}");

        Assert.Contains("last run started on", html);
        Assert.Matches(@"<time datetime=""[^""]+"">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC</time>", html); // events a few ms apart keep their order visible
        Assert.DoesNotContain("attempt 0", html);
        Assert.Contains(">Run now</button>", html); // a job waiting for its time runs now, as Hangfire's "Enqueue now"
    }

    [Fact]
    public void A_scheduled_batch_says_when_it_starts_instead_of_an_empty_ETA()
    {
        var now = DateTimeOffset.Parse("2026-11-22T10:00:00Z");
        var batch = new BatchSummary(1, 1, null, "Spring", "scheduled", now.AddMinutes(45), 60, 5, 1, 40, 0, 40, 0, 0, 0, 0, 0, 0,
            null, null, null, now.AddHours(-1));

        Assert.Equal("starts in 45m", BatchProgress.Of(batch, now).Eta);
    }

    [Fact]
    public async Task Onboarding_counts_stop_at_a_cap_and_only_the_onboarding_page_asks_the_live_refresh_for_them()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        await using (var insert = harness.App.Get<NpgsqlDataSource>().CreateCommand("""
            INSERT INTO outbound_call_jobs (user_id, phone_number, status, attempts, dedupe_key)
            SELECT 'bulk-' || i, '+14155550100', 'failed', 3, 'bulk-' || i FROM generate_series(1, $1) i
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = OnboardingCalls.CountCap + 5 });
            await insert.ExecuteNonQueryAsync();
        }
        using var client = harness.App.CreateClient();

        var page = await client.GetStringAsync("/dashboard/onboarding");
        Assert.Equal("10,000+", WebUtility.HtmlDecode(Regex.Match(page, """data-live="onboarding.failed">([^<]*)<""").Groups[1].Value));
        Assert.DoesNotContain("onboarding.", await client.GetStringAsync("/dashboard/live"));
        Assert.Contains("\"onboarding.failed\":\"10,000+\"", await client.GetStringAsync("/dashboard/live?onboarding=true"));
    }

    private static List<long> JobIds(string html) => JobLink().Matches(html).Select(m => long.Parse(m.Groups[1].Value)).ToList();

    private static string PagerLink(string html, string rel) =>
        WebUtility.HtmlDecode(Regex.Match(html, $"""<a href="([^"]+)" rel="{rel}">""") is { Success: true } m ? m.Groups[1].Value
            : throw new InvalidOperationException($"the page has no rel={rel} link"));

    [GeneratedRegex("""<td class="num"><a href="/dashboard/jobs/(\d+)">""")]
    private static partial Regex JobLink();

    public sealed record HeldArgs(int Number, string Note = "");

    public sealed class HeldHandler : IJobHandler<HeldArgs>
    {
        public Task<JobResult> RunAsync(JobContext<HeldArgs> job, CancellationToken ct) => Task.FromResult(JobResult.Completed);
    }

    public sealed record SleepyArgs;

    /// <summary>Snoozes for an hour: the job waits scheduled with its attempt refunded.</summary>
    public sealed class SleepyHandler : IJobHandler<SleepyArgs>
    {
        public Task<JobResult> RunAsync(JobContext<SleepyArgs> job, CancellationToken ct) => Task.FromResult(JobResult.Snooze(TimeSpan.FromHours(1)));
    }
}
