using Dispatcher.Jobs.Campaigns;
using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;
using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Tests.Fakes;
using Dispatcher.Tests.Onboarding;
using Dispatcher.Tests.Queue;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>An operator's work in the dashboard, in a real browser against the real service and PostgreSQL.</summary>
public sealed class DashboardBrowserTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    static DashboardBrowserTests() => SetDefaultExpectTimeout(20_000);

    /// <summary>"fail-once" jobs fail their first attempt and, having one attempt only, end failed; a retry succeeds.</summary>
    private static void FailOnceJobs(IServiceCollection services)
    {
        services.AddSingleton<RunLog>();
        services.AddJob<FailArgs, FailHandler>("fail-once", k => k.MaxAttempts = 1);
    }

    private static string Dashboard(DispatcherApp app, string path = "") => app.BaseUrl.TrimEnd('/') + "/dashboard" + path;

    [Fact]
    public async Task A_failing_job_appears_under_Failed_without_a_reload_and_Retry_makes_it_succeed()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: FailOnceJobs);
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Dashboard(app));
        var failed = page.Locator("[data-live='state.failed']");
        await Expect(failed).ToHaveTextAsync("0");

        var job = await app.Get<JobClient>().EnqueueAsync(new FailArgs(FailTimes: 1));

        await Expect(failed).ToHaveTextAsync("1"); // the live refresh, no reload
        await page.ClickAsync(".card.state-failed");
        await page.ClickAsync($"a[href$='/jobs/{job.JobId}']");
        await Expect(page.Locator("details.error")).ToContainTextAsync("boom on attempt 1");
        await Expect(page.Locator("pre.stack")).ToContainTextAsync("FailHandler");
        await page.ClickAsync("button:has-text('Retry now')");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("Retried 1 job.");

        await page.ClickAsync("nav >> text=Overview");
        await Expect(failed).ToHaveTextAsync("0"); // (succeeded counts recurring ticks too: the job's own page tells)
        await page.GotoAsync(Dashboard(app, $"/jobs/{job.JobId}"));
        await Eventually.That(async () =>
        {
            await page.ReloadAsync();
            return await page.Locator("h1 .badge").TextContentAsync() == "Succeeded";
        });
        await Expect(page.Locator("ol.timeline")).ToContainTextAsync("attempt 2 started");
        await browser.ScreenshotAsync("job");
    }

    [Fact]
    public async Task Fifty_failed_jobs_selected_on_one_page_are_retried_in_bulk()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: FailOnceJobs);
        await app.Get<JobClient>().EnqueueManyAsync(Enumerable.Range(0, 50).Select(_ => new JobRequest(new FailArgs(1))).ToList());
        var monitor = app.Get<JobMonitor>();
        await Eventually.That(async () => (await monitor.CountsAsync()).ByState[JobState.Discarded] == 50);
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;

        await page.GotoAsync(Dashboard(app, "/jobs?state=failed&size=50"));
        await Expect(page.Locator("input[name=ids]")).ToHaveCountAsync(50);
        await page.CheckAsync("[data-select-all]");
        await browser.ScreenshotAsync("jobs");
        await page.ClickAsync("button[value=retry]");

        await Expect(page.Locator(".notice")).ToHaveTextAsync("Retried 50 jobs.");
        await page.GotoAsync(Dashboard(app));
        await Expect(page.Locator("[data-live='state.failed']")).ToHaveTextAsync("0");
        await Eventually.That(async () => (await monitor.ListAsync(new JobFilter(State: JobState.Completed, Kind: "fail-once"), null, 500)).Jobs.Count == 50);
    }

    [Fact]
    public async Task Without_JavaScript_delete_asks_first_and_then_deletes_only_the_chosen_job()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: FailOnceJobs);
        var results = await app.Get<JobClient>().EnqueueManyAsync([new JobRequest(new FailArgs(1)), new JobRequest(new FailArgs(1))]);
        var monitor = app.Get<JobMonitor>();
        await Eventually.That(async () => (await monitor.CountsAsync()).ByState[JobState.Discarded] == 2);
        await using var browser = await DashboardBrowser.StartAsync(javaScript: false);
        var page = browser.Page;

        await page.GotoAsync(Dashboard(app, "/jobs?state=failed"));
        await Expect(page.Locator("[data-select-all]")).ToBeHiddenAsync(); // it needs the script: "all matching" is the way without
        await page.CheckAsync($"input[name=ids][value='{results[0].JobId}']");
        await page.ClickAsync("button[value=delete]");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Delete 1 job?");
        Assert.NotNull(await monitor.GetAsync(results[0].JobId)); // asking deleted nothing
        await browser.ScreenshotAsync("confirm-delete");
        await page.ClickAsync("button:has-text('Delete')");

        await Expect(page.Locator(".notice")).ToHaveTextAsync("Deleted 1 job.");
        await Expect(page.Locator("input[name=ids]")).ToHaveCountAsync(1);
        Assert.Null(await monitor.GetAsync(results[0].JobId));
        Assert.NotNull(await monitor.GetAsync(results[1].JobId));
    }

    [Fact]
    public async Task Pausing_a_batch_holds_its_progress_bar_and_resuming_moves_it_on()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = () => TimeSpan.FromMilliseconds(200);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(40), callsPerMinute: 120, maxConcurrent: 2);
        var batches = harness.App.Get<Batches>();
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Dashboard(harness.App, $"/batches/{batchId}"));
        var completedBar = page.Locator($"[data-bar='bar.{batchId}.completed']");
        await Eventually.That(async () => await WidthAsync(completedBar) > 0); // dialling, watched live

        await page.ClickAsync("button:has-text('Pause')");
        await Expect(page.Locator(".notice")).ToContainTextAsync("Paused");
        // Calls already live finish; then nothing moves.
        await Eventually.That(async () => (await batches.GetAsync(batchId, default))! is { Dialing: 0, InProgress: 0, Unknown: 0 });
        await Task.Delay(500);
        var held = (await batches.GetAsync(batchId, default))!;
        await Task.Delay(2_000);
        Assert.Equal(held.Completed, (await batches.GetAsync(batchId, default))!.Completed);
        await page.ReloadAsync();
        var heldWidth = await WidthAsync(completedBar);
        Assert.True(heldWidth < 100, $"the batch finished before it could be paused ({heldWidth}%)");

        await page.ClickAsync("button:has-text('Resume')");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("Resumed.");
        await Eventually.That(async () => await WidthAsync(completedBar) > heldWidth); // live again, no reload
        await browser.ScreenshotAsync("batch");
    }

    [Fact]
    public async Task Cancelling_a_batch_asks_first_and_saying_no_leaves_it_running()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = () => TimeSpan.FromSeconds(5);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(30), callsPerMinute: 60, maxConcurrent: 1);
        var batches = harness.App.Get<Batches>();
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Dashboard(harness.App, $"/batches/{batchId}"));
        var questions = new List<string>();
        var answer = false;
        page.Dialog += async (_, dialog) =>
        {
            questions.Add(dialog.Message);
            if (answer) await dialog.AcceptAsync(); else await dialog.DismissAsync();
        };

        await page.ClickAsync("button:has-text('Cancel')");
        Assert.Equal([$"Cancel batch {batchId}? Its queued contacts will not be called, and this cannot be undone."], questions);
        Assert.NotEqual("cancelled", (await batches.GetAsync(batchId, default))!.Status);

        answer = true;
        await page.ClickAsync("button:has-text('Cancel')");
        await Expect(page.Locator(".notice")).ToContainTextAsync("Cancelled");
        Assert.Equal("cancelled", (await batches.GetAsync(batchId, default))!.Status);
    }

    [Fact]
    public async Task Every_main_page_renders_in_light_and_dark_and_is_saved_as_a_screenshot()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), services: FailOnceJobs);
        harness.Fake.CallDuration = () => TimeSpan.FromSeconds(2);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(60), callsPerMinute: 60, maxConcurrent: 3);
        var jobs = harness.App.Get<JobClient>();
        var failing = await jobs.EnqueueManyAsync(Enumerable.Range(0, 5).Select(_ => new JobRequest(new FailArgs(1))).ToList());
        await Eventually.That(async () => (await harness.App.Get<JobMonitor>().CountsAsync()).ByState[JobState.Discarded] == 5);
        await Eventually.That(async () => (await harness.App.Get<Batches>().GetAsync(batchId, default))!.Completed >= 3);

        foreach (var scheme in new[] { "light", "dark" })
        {
            await using var browser = await DashboardBrowser.StartAsync(scheme);
            var page = browser.Page;
            // Nothing a page asks for is missing (a favicon included) and no script fails.
            var problems = new List<string>();
            page.Response += (_, response) => { if (response.Status >= 400) problems.Add($"{response.Status} {response.Url}"); };
            page.Console += (_, message) => { if (message.Type == "error") problems.Add($"console: {message.Text}"); };
            page.PageError += (_, error) => problems.Add($"script: {error}");
            var suffix = scheme == "light" ? "" : "-dark";
            foreach (var (name, path, heading) in new[]
                     {
                         ("overview", "", "Overview"), ("jobs-failed", "/jobs?state=failed", "Jobs"), ("job-failed", $"/jobs/{failing[0].JobId}", $"Job {failing[0].JobId}"),
                         ("recurring", "/recurring", "Recurring jobs"), ("workers", "/workers", "Workers"), ("batches", "/batches", "Campaign batches"),
                         ("batch-live", $"/batches/{batchId}", "Contact"), ("onboarding", "/onboarding", "Onboarding calls"),
                     })
            {
                var response = await page.GotoAsync(Dashboard(harness.App, path));
                Assert.Equal(200, response!.Status);
                await Expect(page.Locator("main")).ToContainTextAsync(heading);
                await browser.ScreenshotAsync(name + suffix);
            }
            Assert.Empty(problems);
        }
    }

    [Fact]
    public async Task The_graph_moves_without_a_reload_and_the_refresh_pauses_while_the_tab_is_hidden()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: FailOnceJobs);
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        var polls = 0;
        page.Request += (_, request) => { if (request.Url.Contains("/dashboard/live")) Interlocked.Increment(ref polls); };
        await page.GotoAsync(Dashboard(app));
        await page.EvaluateAsync("() => window.sameDocument = true");
        var failedInGraph = page.Locator(".graph figcaption span:has(.key.bad)");
        await Expect(failedInGraph).ToHaveTextAsync("0 failed");

        await app.Get<JobClient>().EnqueueAsync(new FailArgs(FailTimes: 1));

        await Expect(failedInGraph).ToHaveTextAsync("1 failed");
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true")); // refreshed in place, not reloaded

        await SetHiddenAsync(page, true);
        await Task.Delay(500); // a refresh already under way may still finish
        var whileHidden = Volatile.Read(ref polls);
        await Task.Delay(6_500); // two refresh periods
        Assert.Equal(whileHidden, Volatile.Read(ref polls));

        await SetHiddenAsync(page, false);
        await Eventually.That(() => Volatile.Read(ref polls) > whileHidden, timeout: TimeSpan.FromSeconds(5)); // at once when shown again
    }

    /// <summary>What the browser does when the tab goes to the background or comes back (headless tabs never do by themselves).</summary>
    private static Task SetHiddenAsync(IPage page, bool hidden) => page.EvaluateAsync("""
        hidden => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => hidden ? "hidden" : "visible" });
            document.dispatchEvent(new Event("visibilitychange"));
        }
        """, hidden);

    [Fact]
    public async Task Retry_failed_contacts_calls_them_again_with_their_earlier_attempt_counted()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = () => TimeSpan.FromMilliseconds(100);
        harness.Fake.OnCreate = _ => new FakeResponse.Reject(400, """{"detail":"number unreachable"}""");
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 600, maxConcurrent: 3);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Dashboard(harness.App, $"/batches/{batchId}?status=failed"));
        await Expect(page.Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(page.Locator("tbody")).ToContainTextAsync("number unreachable");

        harness.Fake.OnCreate = _ => new FakeResponse.Create();
        await page.ClickAsync("button:has-text('Retry failed contacts')");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("Queued 3 failed contacts again.");

        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        Assert.All(await harness.ContactsOfAsync(batchId), c => Assert.Equal(("completed", 2), (c.Status, c.Attempts)));
        await page.GotoAsync(Dashboard(harness.App, $"/batches/{batchId}?status=completed"));
        await Expect(page.Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(page.Locator("tbody tr").First).ToContainTextAsync("hangup"); // the call's end reason, beside its Ultravox id
    }

    [Fact]
    public async Task A_recurring_job_is_triggered_now_paused_and_resumed_from_its_page()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync());
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Dashboard(app, "/recurring"));
        var row = page.Locator("tr", new() { HasText = "reconcile-calls" });

        await row.Locator("button:has-text('Trigger now')").ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync("Triggered reconcile-calls: job");
        await Eventually.That(async () =>
        {
            await page.ReloadAsync();
            return (await row.Locator("td").Nth(6).TextContentAsync())!.Contains("Succeeded"); // its last run's outcome
        });
        await row.Locator("button:has-text('Pause')").ClickAsync();
        await Expect(row.Locator(".badge.paused")).ToHaveTextAsync("paused");
        await browser.ScreenshotAsync("recurring-paused");
        await row.Locator("button:has-text('Resume')").ClickAsync();
        await Expect(row.Locator(".badge.paused")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task A_failed_onboarding_call_is_retried_from_the_onboarding_page()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.CallOutcome = _ => "busy";
        var signup = await harness.SignUpAsync("user-1", "+14155550199");
        await harness.WaitForAsync(signup.JobId, "failed");
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Dashboard(harness.App, "/onboarding?status=failed"));
        var row = page.Locator("tbody tr", new() { HasText = "user-1" });
        await Expect(row).ToContainTextAsync("3/3");
        await Expect(row).ToContainTextAsync("busy");
        await Expect(row).ToContainTextAsync("****0199");

        harness.Fake.CallOutcome = _ => "completed";
        await row.Locator("input[name=ids]").CheckAsync();
        await page.ClickAsync("button:has-text('Retry selected')");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("Queued 1 failed call again.");

        var call = await harness.WaitForAsync(signup.JobId, "completed");
        Assert.Equal(4, call.Attempts);
        await page.GotoAsync(Dashboard(harness.App, "/onboarding"));
        await Expect(page.Locator("tbody tr", new() { HasText = "user-1" })).ToContainTextAsync("4/4");
        await browser.ScreenshotAsync("onboarding-retried");
    }

    [Fact]
    public async Task The_onboarding_pages_counts_follow_a_call_without_a_reload()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.CallOutcome = _ => "completed";
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Dashboard(harness.App, "/onboarding"));
        var completed = page.Locator("[data-live='onboarding.completed']");
        await Expect(completed).ToHaveTextAsync("0");

        var signup = await harness.SignUpAsync("user-live", "+14155550142");
        await harness.WaitForAsync(signup.JobId, "completed");

        await Expect(completed).ToHaveTextAsync("1");
    }

    private static async Task<double> WidthAsync(ILocator bar) =>
        double.Parse((await bar.EvaluateAsync<string>("e => e.style.width")).TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
}
