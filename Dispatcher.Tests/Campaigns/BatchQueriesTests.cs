using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;

namespace Dispatcher.Tests.Campaigns;

/// <summary>What the dashboard's batch page reads: a batch's contacts with their calls, newest first, by status or all.</summary>
public sealed class BatchQueriesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_batchs_contacts_page_newest_first_across_statuses_each_once_and_a_status_shows_only_its_own()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var contacts = CampaignHarness.Contacts(27).Concat([new NewContact("12345", "No plus"), new NewContact("+1 555", "Spaces"), new NewContact("call me", "Words")]).ToList();
        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 6000, maxConcurrent: 10);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(60));
        var queries = harness.App.Get<BatchQueries>();

        var seen = new List<ContactRow>();
        long? before = null;
        do
        {
            var page = await queries.ContactsAsync(batchId, null, before, 7, CancellationToken.None);
            Assert.InRange(page.Contacts.Count, 1, 7);
            seen.AddRange(page.Contacts);
            before = page.NextBeforeId;
        } while (before is not null);

        Assert.Equal(30, seen.Count);
        Assert.Equal(seen.Select(c => c.Id).OrderDescending(), seen.Select(c => c.Id));
        Assert.Equal(30, seen.Select(c => c.Id).Distinct().Count());
        Assert.All(seen.Where(c => c.Status == "completed"), c => Assert.Single(c.Calls));

        var failed = await queries.ContactsAsync(batchId, "failed", null, 50, CancellationToken.None);
        Assert.Equal(["call me", "+1 555", "12345"], failed.Contacts.Select(c => c.PhoneNumber));
        Assert.All(failed.Contacts, c => Assert.Contains("invalid phone number", c.LastError));
        Assert.Null(failed.NextBeforeId);
    }
}
