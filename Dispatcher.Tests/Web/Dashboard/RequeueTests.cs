using System.Net;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;
using Hangfire;
using Hangfire.States;
using static Dispatcher.Tests.Web.Dashboard.DashboardHttp;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>Failed campaign calls requeued by an operator, from Hangfire's Failed list or a batch's page: dialled once more, and who did it is on the contact; over HTTP.</summary>
public sealed class RequeueTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static Task<(HttpClient Browser, string Token)> SignInAsync(DispatcherApp app) => DashboardHttp.SignInAsync(app, "ops", "correct horse");

    /// <summary>A batch whose <paramref name="count"/> contacts fail their one attempt (unjoined), each with its failed job; later calls end normally.</summary>
    private static async Task<(CampaignHarness Harness, long BatchId, IReadOnlyList<ContactRow> Failed)> FailedContactsAsync(string database, int count)
    {
        var harness = await CampaignHarness.StartAsync(database, settings: WithSignIn);
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(200);
        var left = count;
        harness.Fake.EndReason = _ => Interlocked.Decrement(ref left) >= 0 ? "unjoined" : "hangup";
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(count), callsPerMinute: 6000, maxConcurrent: count);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        var failed = await Eventually.Reaches(
            async () => (await harness.App.Get<BatchQueries>().ContactsAsync(batchId, "failed", null, count, CancellationToken.None)).Contacts,
            contacts => contacts.Count == count && contacts.All(c => c.FailedJobId is not null), _ => "failed jobs not made yet", TimeSpan.FromSeconds(10));
        return (harness, batchId, failed);
    }

    private static async Task<ContactRow> ContactAsync(CampaignHarness harness, long batchId, long contactId) =>
        (await harness.App.Get<BatchQueries>().ContactsAsync(batchId, null, contactId + 1, 1, CancellationToken.None)).Contacts.Single();

    [Fact]
    public async Task Requeue_in_Hangfires_Failed_list_dials_the_contact_again_and_records_the_signed_in_user_on_it()
    {
        var (harness, batchId, failed) = await FailedContactsAsync(await db.CreateExtraDatabaseAsync(), 1);
        await using var _ = harness;
        var (browser, token) = await SignInAsync(harness.App);
        using var __ = browser;

        var requeue = await PostAsync(browser, "/hangfire/jobs/failed/requeue", token, ("jobs[]", failed[0].FailedJobId!));

        Assert.True(requeue.IsSuccessStatusCode, requeue.StatusCode.ToString());
        var contact = await Eventually.Reaches(() => ContactAsync(harness, batchId, failed[0].Id), c => c.Status == "completed",
            c => $"contact is {c.Status}", TimeSpan.FromSeconds(30));
        Assert.Equal((2, "ops"), (contact.Attempts, contact.RequeuedBy));
        Assert.Contains("requeued by ops", await GetHtmlAsync(browser, $"/hangfire/batches/{batchId}", HttpStatusCode.OK));
    }

    [Fact]
    public async Task Requeue_of_one_contact_on_its_batchs_page_dials_it_once_however_often_clicked_and_takes_its_job_off_the_Failed_list()
    {
        var (harness, batchId, failed) = await FailedContactsAsync(await db.CreateExtraDatabaseAsync(), 2);
        await using var _ = harness;
        var (browser, token) = await SignInAsync(harness.App);
        using var __ = browser;
        var (chosen, other) = (failed[0], failed[1]);
        var page = await GetHtmlAsync(browser, $"/hangfire/batches/{batchId}?status=failed", HttpStatusCode.OK);
        Assert.Contains($"action=\"/hangfire/batches/{batchId}/contacts/{chosen.Id}/requeue\"", page);

        var first = await PostAsync(browser, $"/hangfire/batches/{batchId}/contacts/{chosen.Id}/requeue", token);
        var second = await PostAsync(browser, $"/hangfire/batches/{batchId}/contacts/{chosen.Id}/requeue", token);

        Assert.Equal((HttpStatusCode.SeeOther, $"/hangfire/batches/{batchId}?done=requeued"), (first.StatusCode, first.Headers.Location!.OriginalString));
        Assert.Equal($"/hangfire/batches/{batchId}?done=not-failed", second.Headers.Location!.OriginalString);
        var contact = await Eventually.Reaches(() => ContactAsync(harness, batchId, chosen.Id), c => c.Status == "completed",
            c => $"contact is {c.Status}", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1)); // a second dial, were there one, would have started
        Assert.Equal((2, "ops"), (contact.Attempts, contact.RequeuedBy));
        Assert.Equal(2, harness.Fake.CreateRequests.Count(r => r.To == chosen.PhoneNumber));
        var untouched = await ContactAsync(harness, batchId, other.Id);
        Assert.Equal(("failed", 1), (untouched.Status, untouched.Attempts));
        var monitoring = harness.App.Get<JobStorage>().GetMonitoringApi();
        Assert.Equal(DeletedState.StateName, monitoring.JobDetails(chosen.FailedJobId).History[0].StateName);
        Assert.Equal(FailedState.StateName, monitoring.JobDetails(other.FailedJobId).History[0].StateName);
    }

    [Fact]
    public async Task The_read_only_user_gets_no_Requeue_button_on_a_batchs_page_and_its_post_is_refused()
    {
        var settings = new Dictionary<string, string>(WithSignIn) { ["DASHBOARD_READONLY"] = "true" };
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: settings);
        harness.Fake.EndReason = _ => "unjoined";
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 6000, maxConcurrent: 1);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        var contactId = (await harness.App.Get<BatchQueries>().ContactsAsync(batchId, "failed", null, 1, CancellationToken.None)).Contacts.Single().Id;
        var (browser, token) = await SignInAsync(harness.App);
        using var _ = browser;

        Assert.DoesNotContain("/requeue\"", await GetHtmlAsync(browser, $"/hangfire/batches/{batchId}", HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(browser, $"/hangfire/batches/{batchId}/contacts/{contactId}/requeue", token)).StatusCode);
        Assert.Equal("failed", (await ContactAsync(harness, batchId, contactId)).Status);
    }
}
