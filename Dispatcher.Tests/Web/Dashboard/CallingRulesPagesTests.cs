using System.Net;
using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Dispatcher.Tests.Web.Dashboard.DashboardHttp;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>The dashboard's part of the calling rules, over HTTP: the do-not-call list, stop everything and resume, and batches waiting for their calling window.</summary>
public sealed class CallingRulesPagesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string Listed = "+14155550177";

    [Fact]
    public async Task Adding_and_removing_a_number_on_the_Do_not_call_page_changes_the_agencys_list_under_the_signed_in_user()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: WithSignIn);
        var list = harness.App.Get<DoNotCallList>();
        var (browser, token) = await SignInAsync(harness.App, "ops", "correct horse");
        using var _ = browser;
        var agency = harness.AgencyId;
        var page = await GetHtmlAsync(browser, "/hangfire/do-not-call", HttpStatusCode.OK);
        Assert.Contains($"action=\"/hangfire/do-not-call/{agency}/add\"", page); // the only agency is chosen

        var invalid = await PostAsync(browser, $"/hangfire/do-not-call/{agency}/add", token, ("phone_number", "4155550123"), ("reason", ""));
        Assert.Equal($"/hangfire/do-not-call?agency={agency}&done=invalid", invalid.Headers.Location!.OriginalString);
        var added = await PostAsync(browser, $"/hangfire/do-not-call/{agency}/add", token, ("phone_number", Listed), ("reason", "asked on the phone <b>"));
        var again = await PostAsync(browser, $"/hangfire/do-not-call/{agency}/add", token, ("phone_number", Listed), ("reason", ""));

        Assert.Equal((HttpStatusCode.SeeOther, $"/hangfire/do-not-call?agency={agency}&done=added"), (added.StatusCode, added.Headers.Location!.OriginalString));
        Assert.Equal($"/hangfire/do-not-call?agency={agency}&done=already-listed", again.Headers.Location!.OriginalString);
        var entry = Assert.Single((await list.ListAsync(agency, withRemoved: true, null, 10, CancellationToken.None)).Entries);
        Assert.Equal((Listed, "ops", "asked on the phone <b>"), (entry.PhoneNumber, entry.AddedBy, entry.Reason));
        page = await GetHtmlAsync(browser, added.Headers.Location.OriginalString, HttpStatusCode.OK);
        Assert.Contains("Added to the do-not-call list", page);
        Assert.Contains("****0177", page);
        Assert.DoesNotContain("4155550177", page); // masked, in the remove form's fields too
        Assert.Contains("added by ops", page);
        Assert.Contains("asked on the phone &lt;b&gt;", page);
        Assert.Contains("<input type=\"hidden\" name=\"entry\" value=\"" + entry.Id + "\">", page);

        var removed = await PostAsync(browser, $"/hangfire/do-not-call/{agency}/remove", token, ("entry", entry.Id.ToString()));
        var twice = await PostAsync(browser, $"/hangfire/do-not-call/{agency}/remove", token, ("entry", entry.Id.ToString()));

        Assert.Equal($"/hangfire/do-not-call?agency={agency}&done=removed", removed.Headers.Location!.OriginalString);
        Assert.Equal($"/hangfire/do-not-call?agency={agency}&done=not-listed", twice.Headers.Location!.OriginalString);
        Assert.Empty((await list.ListAsync(agency, withRemoved: false, null, 10, CancellationToken.None)).Entries);
        entry = Assert.Single((await list.ListAsync(agency, withRemoved: true, null, 10, CancellationToken.None)).Entries);
        Assert.Equal("ops", entry.RemovedBy);
        Assert.Contains("removed by ops", await GetHtmlAsync(browser, $"/hangfire/do-not-call?agency={agency}&removed=true", HttpStatusCode.OK));
    }

    [Fact]
    public async Task The_read_only_user_sees_the_list_and_stops_without_forms_and_every_post_is_refused_with_nothing_changed()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: WithSignIn);
        var list = harness.App.Get<DoNotCallList>();
        var agency = harness.AgencyId;
        await list.AddAsync(agency, [Listed], null, "alice", CancellationToken.None);
        var entryId = (await list.ListAsync(agency, false, null, 1, CancellationToken.None)).Entries.Single().Id;
        var (browser, token) = await SignInAsync(harness.App, "viewer", "look only");
        using var _ = browser;

        var page = await GetHtmlAsync(browser, $"/hangfire/do-not-call?agency={agency}", HttpStatusCode.OK);
        Assert.Contains("added by alice", page);
        Assert.DoesNotContain("<form method=\"post\"", page);
        Assert.DoesNotContain("/stops/all/confirm", page);
        await GetHtmlAsync(browser, "/hangfire/stops/all/confirm", HttpStatusCode.Unauthorized);

        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(browser, $"/hangfire/do-not-call/{agency}/add", token, ("phone_number", "+14155550199"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(browser, $"/hangfire/do-not-call/{agency}/remove", token, ("entry", entryId.ToString()))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(browser, "/hangfire/stops/all/stop", token, ("confirm", "yes"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(browser, $"/hangfire/stops/{agency}/stop", token, ("confirm", "yes"))).StatusCode);

        var entry = Assert.Single((await list.ListAsync(agency, withRemoved: true, null, 10, CancellationToken.None)).Entries);
        Assert.Equal((Listed, null), (entry.PhoneNumber, entry.RemovedAt));
        Assert.Empty(await harness.App.Get<DispatchStops>().InForceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Stop_everything_asks_first_then_stops_under_the_signed_in_user_and_resume_gives_each_batch_its_state_back()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: WithSignIn);
        var stops = harness.App.Get<DispatchStops>();
        var batches = harness.App.Get<Batches>();
        var scheduled = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 1, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddDays(1));
        var pausedBefore = await harness.CreateBatchAsync(CampaignHarness.Contacts(3, first: 3), callsPerMinute: 1, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddDays(1));
        Assert.True(await batches.PauseAsync(pausedBefore, CancellationToken.None));
        var (browser, token) = await SignInAsync(harness.App, "ops", "correct horse");
        using var _ = browser;
        var page = await GetHtmlAsync(browser, "/hangfire/do-not-call", HttpStatusCode.OK);
        Assert.Contains("No stop in force", page);
        Assert.Contains("href=\"/hangfire/stops/all/confirm\"", page);

        var unanswered = await PostAsync(browser, "/hangfire/stops/all/stop", token);
        Assert.Equal((HttpStatusCode.SeeOther, "/hangfire/stops/all/confirm"), (unanswered.StatusCode, unanswered.Headers.Location!.OriginalString));
        Assert.Empty(await stops.InForceAsync(CancellationToken.None));
        Assert.Equal("scheduled", (await batches.GetAsync(scheduled, CancellationToken.None))!.Status);

        var noSuchAgency = await PostAsync(browser, "/hangfire/stops/999999/stop", token, ("confirm", "yes"));
        Assert.Equal("/hangfire/do-not-call?agency=999999&done=no-agency", noSuchAgency.Headers.Location!.OriginalString);

        var question = await GetHtmlAsync(browser, "/hangfire/stops/all/confirm", HttpStatusCode.OK);
        Assert.Contains("Stop every agency", question);
        var stopped = await PostAsync(browser, "/hangfire/stops/all/stop", Token(question), ("confirm", "yes"));

        Assert.Equal("/hangfire/do-not-call?done=stopped&paused=1", stopped.Headers.Location!.OriginalString);
        var stop = Assert.Single(await stops.InForceAsync(CancellationToken.None));
        Assert.Equal((null, "ops"), (stop.AgencyId, stop.StoppedBy));
        Assert.Equal("paused", (await batches.GetAsync(scheduled, CancellationToken.None))!.Status);
        page = await GetHtmlAsync(browser, stopped.Headers.Location.OriginalString, HttpStatusCode.OK);
        Assert.Contains("Stopped: 1 batch(es) paused", page);
        Assert.Contains("All agencies are stopped", page);
        Assert.Contains("stopped by ops", page);
        Assert.Contains("action=\"/hangfire/stops/all/resume\"", page);
        Assert.Contains("paused by stop everything", await GetHtmlAsync(browser, $"/hangfire/batches/{scheduled}", HttpStatusCode.OK));

        var refused = await PostAsync(browser, $"/hangfire/stops/{harness.AgencyId}/resume", token);
        Assert.Equal($"/hangfire/do-not-call?agency={harness.AgencyId}&done=stopped-for-all", refused.Headers.Location!.OriginalString);
        var resumed = await PostAsync(browser, "/hangfire/stops/all/resume", token);

        Assert.Equal("/hangfire/do-not-call?done=resumed&restored=1", resumed.Headers.Location!.OriginalString);
        Assert.Empty(await stops.InForceAsync(CancellationToken.None));
        Assert.Equal("scheduled", (await batches.GetAsync(scheduled, CancellationToken.None))!.Status);
        Assert.Equal("paused", (await batches.GetAsync(pausedBefore, CancellationToken.None))!.Status);
        Assert.Contains("No stop in force", await GetHtmlAsync(browser, resumed.Headers.Location.OriginalString, HttpStatusCode.OK));
    }

    [Fact]
    public async Task The_batch_page_and_list_show_contacts_waiting_for_their_window_when_it_opens_and_suppressed_contacts()
    {
        // Saturday 8 March 2031, 15:00 in New York: the batch's Mon-Fri hours open on Monday at 09:00 EDT (13:00 UTC).
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 3, 8, 20, 0, 0, TimeSpan.Zero));
        // The clock moves on with real time too, so that the dialler's waits go by.
        using var ticking = new Timer(_ => clock.Advance(TimeSpan.FromMilliseconds(20)), null, 20, 20);
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: new() { ["CALLING_HOURS"] = "Mon-Sat 09:00-20:00" },
            services: s => s.AddSingleton<TimeProvider>(clock));
        await harness.App.Get<DoNotCallList>().AddAsync(harness.AgencyId, ["+12125550124"], null, "alice", CancellationToken.None);
        var batchId = await harness.App.Get<Batches>().CreateAsync(new NewBatch(harness.AgencyId, harness.MappingId, "Weekday mornings", 600, 1,
            [new NewContact("+12125550123", "New Yorker"), new NewContact("+12125550124", "Listed")], CallingHours: CallingHours.Parse("Mon-Fri 09:00-12:00")),
            CancellationToken.None);
        await Eventually.Reaches(() => harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None),
            b => b is { Status: "processing", WaitingForWindow: 1, Suppressed: 1 }, b => $"batch is {b}", TimeSpan.FromSeconds(20));
        using var client = harness.App.CreateClient();

        var page = await client.GetStringAsync($"/hangfire/batches/{batchId}");

        Assert.Contains("Mon-Fri 09:00-12:00 in each contact&#39;s time zone", page);
        Assert.Contains("1 waiting for their calling window; the next opens in ", page);
        Assert.Contains("waiting for calling window (opens in ", page);
        Assert.Contains("2031-03-10 13:00 UTC", page);
        Assert.Contains($"<span data-live=\"batch.{batchId}.count.suppressed\">1</span>", page);
        Assert.Contains($"data-bar=\"bar.{batchId}.suppressed\"", page);
        Assert.Contains("on the agency&#39;s do-not-call list at import", await client.GetStringAsync($"/hangfire/batches/{batchId}?status=suppressed"));
        var list = await client.GetStringAsync("/hangfire/batches");
        Assert.Contains("waiting for calling window (opens in ", list);
        Assert.Contains("1 waiting for their calling window", list);
        Assert.Contains("waiting for calling window", await client.GetStringAsync($"/hangfire/dispatcher/live?batch={batchId}"));
    }
}
