using Dispatcher.Jobs.CallingRules;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Testing;

namespace Dispatcher.Tests.CallingRules;

public sealed class DoNotCallTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_number_suppressed_while_its_batch_runs_is_never_called_afterwards()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var contacts = CampaignHarness.Contacts(30);
        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 300, maxConcurrent: 2); // one dial every 200 ms
        await Eventually.That(() => harness.Fake.CreateRequestsFor(contacts[2].PhoneNumber) == 1, "the batch under way");

        var late = contacts[^1].PhoneNumber;
        Assert.Equal(1, await harness.App.Get<DoNotCallList>().AddAsync(harness.AgencyId, [late], "asked on the phone", "test operator", CancellationToken.None));
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(60));

        Assert.Equal(0, harness.Fake.CreateRequestsFor(late));
        Assert.Equal((29, 1), (batch.Completed, batch.Suppressed));
        var suppressed = (await harness.ContactsOfAsync(batchId)).Single(c => c.Phone == late);
        Assert.Equal(("suppressed", 0), (suppressed.Status, suppressed.Attempts));
        Assert.Contains("do-not-call", suppressed.Error);
    }

    [Fact]
    public async Task A_listed_number_is_suppressed_at_import_and_the_list_keeps_who_added_and_removed_it()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var list = harness.App.Get<DoNotCallList>();
        var contacts = CampaignHarness.Contacts(3);
        await list.AddAsync(harness.AgencyId, [contacts[1].PhoneNumber], "complaint", "alice", CancellationToken.None);

        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 600, maxConcurrent: 3);
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        await list.RemoveAsync(harness.AgencyId, [contacts[1].PhoneNumber], "bob", CancellationToken.None);

        Assert.Equal((2, 1), (batch.Completed, batch.Suppressed));
        Assert.Equal(0, harness.Fake.CreateRequestsFor(contacts[1].PhoneNumber));
        var entry = Assert.Single((await list.ListAsync(harness.AgencyId, withRemoved: true, null, 10, CancellationToken.None)).Entries);
        Assert.Equal(("alice", "bob", "complaint"), (entry.AddedBy, entry.RemovedBy, entry.Reason));
        Assert.NotNull(entry.RemovedAt);
        Assert.Empty((await list.ListAsync(harness.AgencyId, withRemoved: false, null, 10, CancellationToken.None)).Entries);
        await harness.AssertCountersMatchContactsAsync(batchId);
    }
}
