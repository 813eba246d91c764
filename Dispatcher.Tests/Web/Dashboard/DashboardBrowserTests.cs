using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Tests.Onboarding;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>An operator's work in Hangfire's dashboard and our pages in it, in a real browser against the real service, a fake Ultravox and PostgreSQL.</summary>
public sealed class DashboardBrowserTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    static DashboardBrowserTests() => SetDefaultExpectTimeout(30_000);

    private static string Hangfire(DispatcherApp app, string path = "") => app.BaseUrl.TrimEnd('/') + "/hangfire" + path;

    /// <summary>Calls that end "unjoined" the first <paramref name="failures"/> times, then "hangup".</summary>
    private static async Task<CampaignHarness> CampaignsAsync(string database, int failures)
    {
        var harness = await CampaignHarness.StartAsync(database);
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(300);
        var left = failures;
        harness.Fake.EndReason = _ => Interlocked.Decrement(ref left) >= 0 ? "unjoined" : "hangup";
        return harness;
    }

    private static async Task<int> CompletedAsync(CampaignHarness harness, long batchId) =>
        (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!.Completed;

    [Fact]
    public async Task A_call_that_fails_for_good_appears_in_the_Failed_list_without_a_reload_and_Requeue_places_it_again_and_it_completes()
    {
        await using var harness = await CampaignsAsync(await db.CreateExtraDatabaseAsync(), failures: 1);
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Hangfire(harness.App, "/jobs/failed"));
        await page.EvaluateAsync("window.notReloaded = true");

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1);

        var row = page.Locator(".js-jobs-list-row");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row).ToContainTextAsync("Campaign call");
        Assert.True(await page.EvaluateAsync<bool>("window.notReloaded === true"));
        await row.Locator("input[name='jobs[]']").CheckAsync();
        await page.ClickAsync(".js-jobs-list-command:has-text('Requeue')");

        await Eventually.That(async () => (await harness.ContactsOfAsync(batchId))[0] is { Status: "completed", Attempts: 2 }, timeout: TimeSpan.FromSeconds(30));
        await Expect(page.Locator(".js-jobs-list-row")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Twenty_failed_calls_selected_at_once_are_requeued_at_once()
    {
        await using var harness = await CampaignsAsync(await db.CreateExtraDatabaseAsync(), failures: 20);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(20), callsPerMinute: 6000, maxConcurrent: 10);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(60));
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Hangfire(harness.App, "/jobs/failed"));
        await Expect(page.Locator(".js-jobs-list-row")).ToHaveCountAsync(20);

        await page.CheckAsync(".js-jobs-list-select-all");
        await page.ClickAsync(".js-jobs-list-command:has-text('Requeue')");

        await Eventually.That(async () => await CompletedAsync(harness, batchId) == 20, timeout: TimeSpan.FromSeconds(60));
        Assert.All(await harness.ContactsOfAsync(batchId), contact => Assert.Equal(2, contact.Attempts));
    }

    [Fact]
    public async Task A_batchs_progress_bar_moves_without_a_reload_pause_holds_it_and_resume_moves_it()
    {
        await using var harness = await CampaignsAsync(await db.CreateExtraDatabaseAsync(), failures: 0);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(40), callsPerMinute: 120, maxConcurrent: 2);
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Hangfire(harness.App, $"/batches/{batchId}"));
        var completed = page.Locator($"[data-bar='bar.{batchId}.completed']");
        var start = await completed.GetAttributeAsync("style");

        await Expect(completed).Not.ToHaveAttributeAsync("style", start!); // moved by the live refresh
        await page.ClickAsync("button:has-text('Pause')");
        await Expect(page.Locator("[role=status]")).ToContainTextAsync("Paused");
        await Task.Delay(TimeSpan.FromSeconds(2)); // live calls finish
        var dials = harness.Fake.CreateRequests.Count;
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(dials, harness.Fake.CreateRequests.Count);

        var held = await completed.GetAttributeAsync("style");
        await page.ClickAsync("button:has-text('Resume')");
        await Eventually.That(() => harness.Fake.CreateRequests.Count > dials, "dialling again after the resume");
        await Expect(completed).Not.ToHaveAttributeAsync("style", held!);
    }

    [Fact]
    public async Task Retry_failed_contacts_on_a_batchs_page_calls_them_again()
    {
        await using var harness = await CampaignsAsync(await db.CreateExtraDatabaseAsync(), failures: 3);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 6000, maxConcurrent: 3);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Hangfire(harness.App, $"/batches/{batchId}"));

        await page.ClickAsync("button:has-text('Retry 3 failed contact(s)')");

        await Expect(page.Locator("[role=status]")).ToContainTextAsync("Queued 3 failed contact(s) again.");
        await Expect(page.Locator($"[data-live='batch.{batchId}.count.completed']")).ToHaveTextAsync("3");
    }

    [Fact]
    public async Task Onboarding_counts_follow_a_call_without_a_reload()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromSeconds(3);
        await using var browser = await DashboardBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(Hangfire(harness.App, "/onboarding"));
        await page.EvaluateAsync("window.notReloaded = true");
        var inProgress = page.Locator("[data-live='onboarding.in_progress']");
        var completed = page.Locator("[data-live='onboarding.completed']");
        await Expect(completed).ToHaveTextAsync("0");

        await harness.SignUpAsync("user-live", "+15553330001");

        await Expect(inProgress).ToHaveTextAsync("1"); // answered, for the call's 3 seconds
        await Expect(completed).ToHaveTextAsync("1");
        await Expect(inProgress).ToHaveTextAsync("0");
        Assert.True(await page.EvaluateAsync<bool>("window.notReloaded === true"));
    }

    [Theory]
    [InlineData("light")]
    [InlineData("dark")]
    public async Task Every_page_renders_with_no_missing_asset_and_no_script_error(string scheme)
    {
        await using var harness = await CampaignsAsync(await db.CreateExtraDatabaseAsync(), failures: 1);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(5), callsPerMinute: 6000, maxConcurrent: 2);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        var failedJob = await Eventually.Reaches(async () => (await harness.App.Get<BatchQueries>().ContactsAsync(batchId, "failed", null, 1, CancellationToken.None)).Contacts,
            contacts => contacts.Count == 1 && contacts[0].FailedJobId is not null, _ => "no failed job yet", TimeSpan.FromSeconds(10));
        // The Do not call page with an entry on its list and a stop (with its Resume button) in force; nothing is dialled any more by now.
        await harness.App.Get<DoNotCallList>().AddAsync(harness.AgencyId, ["+14155550177"], "asked on the phone", "ops", CancellationToken.None);
        await harness.App.Get<DispatchStops>().StopAsync(harness.AgencyId, "ops", CancellationToken.None);
        await using var browser = await DashboardBrowser.StartAsync(scheme);
        var page = browser.Page;
        var problems = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") problems.Add($"{page.Url}: console: {message.Text}"); };
        page.PageError += (_, error) => problems.Add($"{page.Url}: script error: {error}");
        page.Response += (_, response) => { if (response.Status >= 400) problems.Add($"{response.Url}: {response.Status}"); };

        var pages = new (string Name, string Path)[]
        {
            ("home", "/"), ("failed", "/jobs/failed"), ("succeeded", "/jobs/succeeded"), ("processing", "/jobs/processing"),
            ("job", $"/jobs/details/{failedJob[0].FailedJobId}"), ("recurring", "/recurring"), ("servers", "/servers"),
            ("batches", "/batches"), ("batch", $"/batches/{batchId}"), ("cancel-batch", $"/batches/{batchId}/cancel/confirm"), ("onboarding", "/onboarding"),
            ("do-not-call", "/do-not-call"), ("stop-all", "/stops/all/confirm"),
        };
        foreach (var (name, path) in pages)
        {
            await page.GotoAsync(Hangfire(harness.App, path), new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
            await browser.ScreenshotAsync($"dashboard-{name}-{scheme}");
        }
        await page.GotoAsync(Hangfire(harness.App, "/"));
        await Expect(page.Locator("[data-metric='dispatcher:failed-calls-waiting']")).ToHaveTextAsync("1"); // our metric, filled by Hangfire's /stats polling
        await page.GotoAsync(Hangfire(harness.App, $"/jobs/details/{failedJob[0].FailedJobId}"));
        await Expect(page.Locator(".dispatcher-origin a")).ToHaveTextAsync($"Contact {failedJob[0].Id} of batch {batchId}");

        Assert.Empty(problems);
    }
}
