using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;
using Npgsql;

namespace Dispatcher.Tests.Campaigns;

public sealed class BatchLifeTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_paused_batch_dials_no_one_until_resumed_and_then_finishes()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var batches = harness.App.Get<Batches>();
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(20), callsPerMinute: 300, maxConcurrent: 2);
        await Eventually.That(() => harness.Fake.CreateRequests.Count >= 3);

        Assert.True(await batches.PauseAsync(batchId, CancellationToken.None));
        await Task.Delay(500); // a dial already reserved may still go out
        var dialledWhilePaused = harness.Fake.CreateRequests.Count;
        await Task.Delay(1500);
        Assert.Equal(dialledWhilePaused, harness.Fake.CreateRequests.Count);
        Assert.Equal("paused", (await batches.GetAsync(batchId, CancellationToken.None))!.Status);

        Assert.True(await batches.ResumeAsync(batchId, CancellationToken.None));
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal(20, batch.Completed);
        Assert.Equal(20, harness.Fake.CreateRequests.Count);
    }

    [Fact]
    public async Task Cancelling_a_batch_cancels_its_queued_contacts_and_lets_live_calls_finish()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromSeconds(1);
        var batches = harness.App.Get<Batches>();
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(10), callsPerMinute: 600, maxConcurrent: 2);
        await Eventually.That(() => harness.Fake.CreateRequests.Count >= 2);

        Assert.True(await batches.CancelAsync(batchId, CancellationToken.None));
        await harness.Fake.WaitUntilIdleAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(300);

        var batch = (await batches.GetAsync(batchId, CancellationToken.None))!;
        Assert.Equal("cancelled", batch.Status);
        Assert.Equal(harness.Fake.CreateRequests.Count, batch.Completed);
        Assert.Equal(10 - batch.Completed, batch.Cancelled);
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_scheduled_batch_starts_at_its_time()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var at = DateTimeOffset.UtcNow.AddSeconds(2);

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(2), callsPerMinute: 600, maxConcurrent: 2, scheduledFor: at);
        Assert.Equal("scheduled", (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!.Status);
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(20));

        Assert.True(harness.Fake.CreateRequests.Min(r => r.At) >= at.AddMilliseconds(-50), "dialled before its time");
        Assert.True(batch.StartedAt >= at.AddMilliseconds(-50));
    }

    [Fact]
    public async Task A_batch_due_within_seconds_has_its_contacts_queued_before_its_time_and_its_first_slot_at_it()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        // Its dial job is scheduled an hour ahead: the start below is the only one.
        var soon = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 60, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddHours(1));
        var later = await harness.CreateBatchAsync(CampaignHarness.Contacts(3, first: 10), callsPerMinute: 60, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddHours(1));
        var dataSource = harness.App.Get<NpgsqlDataSource>();
        var at = await RescheduleAsync(dataSource, soon, TimeSpan.FromSeconds(2));
        await RescheduleAsync(dataSource, later, TimeSpan.FromSeconds(30));

        await harness.App.Get<ContactLedger>().StartAsync([soon, later], CancellationToken.None);

        var started = (await harness.App.Get<Batches>().GetAsync(soon, CancellationToken.None))!;
        Assert.Equal(("processing", 3, 0), (started.Status, started.Queued, started.Pending));
        Assert.Equal(at, started.StartedAt);
        await using var slot = dataSource.CreateCommand($"SELECT next_dial_at FROM call_batches WHERE id = {soon}");
        Assert.Equal(at, new DateTimeOffset((DateTime)(await slot.ExecuteScalarAsync())!)); // the pace holds the first dial until its time
        Assert.Equal("scheduled", (await harness.App.Get<Batches>().GetAsync(later, CancellationToken.None))!.Status);
    }

    private static async Task<DateTimeOffset> RescheduleAsync(NpgsqlDataSource dataSource, long batchId, TimeSpan from)
    {
        await using var command = dataSource.CreateCommand($"UPDATE call_batches SET scheduled_for = date_trunc('milliseconds', now()) + $1 WHERE id = {batchId} RETURNING scheduled_for");
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        return new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Retrying_failed_contacts_dials_them_once_more()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var reasons = new Queue<string>(["unjoined", "unjoined"]);
        harness.Fake.EndReason = _ => { lock (reasons) return reasons.Count > 0 ? reasons.Dequeue() : "hangup"; };
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 600, maxConcurrent: 1);
        var first = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(20));
        Assert.Equal((1, 2), (first.Completed, first.Failed));

        Assert.Equal(2, await harness.App.Get<Batches>().RetryFailedAsync(batchId, "operator", CancellationToken.None));
        await Eventually.That(() => harness.Fake.CreateRequests.Count == 5);
        var second = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(20));

        Assert.Equal((3, 0), (second.Completed, second.Failed));
        Assert.All(await harness.ContactsOfAsync(batchId), c => Assert.InRange(c.Attempts, 1, 2));
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task Retrying_failed_contacts_of_a_paused_batch_queues_them_and_keeps_it_paused()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var batches = harness.App.Get<Batches>();
        // The two good numbers' calls outlast the test, so the batch is still processing when the
        // invalid one (dialled last: it has no zone, so no closing window) fails.
        harness.Fake.CallDuration = _ => TimeSpan.FromSeconds(30);
        var contacts = new[] { new NewContact("12345", "No plus") }.Concat(CampaignHarness.Contacts(2)).ToList();
        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 60, maxConcurrent: 3);
        await Eventually.That(async () => (await batches.GetAsync(batchId, CancellationToken.None))!.Failed == 1);
        Assert.True(await batches.PauseAsync(batchId, CancellationToken.None));
        var dialled = harness.Fake.CreateRequests.Count;

        Assert.Equal(1, await batches.RetryFailedAsync(batchId, "operator", CancellationToken.None));
        await Task.Delay(1_500); // the tick runs every second

        var batch = (await batches.GetAsync(batchId, CancellationToken.None))!;
        Assert.Equal(("paused", 0), (batch.Status, batch.Failed));
        Assert.Equal(dialled, harness.Fake.CreateRequests.Count);
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task Retrying_failed_contacts_of_a_batch_without_failures_leaves_it_completed()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var batches = harness.App.Get<Batches>();
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1);
        var done = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(20));

        Assert.Equal(0, await batches.RetryFailedAsync(batchId, "operator", CancellationToken.None));

        var after = (await batches.GetAsync(batchId, CancellationToken.None))!;
        Assert.Equal(("completed", done.CompletedAt), (after.Status, after.CompletedAt));
    }

    [Fact]
    public async Task Cancelling_a_batch_twice_says_the_second_time_that_nothing_was_cancelled()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var batches = harness.App.Get<Batches>();
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(5), callsPerMinute: 1, maxConcurrent: 1);

        Assert.True(await batches.CancelAsync(batchId, CancellationToken.None));
        Assert.False(await batches.CancelAsync(batchId, CancellationToken.None));
        Assert.Equal("cancelled", (await batches.GetAsync(batchId, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_call_whose_webhook_was_lost_is_settled_by_reconciliation()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: new()
        {
            ["RECONCILE_CALLS_AFTER_SECONDS"] = "1",
            ["RECONCILE_CALLS_CRON"] = "* * * * * *",
        });
        harness.Fake.WebhookUrl = null; // Ultravox never tells us
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(200);

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(2), callsPerMinute: 600, maxConcurrent: 2);
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(20));

        Assert.Equal(2, batch.Completed);
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_changed_agency_key_is_used_from_the_next_dial_on()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
        var first = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1);
        await harness.WaitForBatchAsync(first, "completed", TimeSpan.FromSeconds(20));

        await harness.App.Get<AgencyDirectory>().SetApiKeyAsync(harness.AgencyId, "rotated-key", CancellationToken.None);
        var second = await harness.CreateBatchAsync(CampaignHarness.Contacts(1, first: 50), callsPerMinute: 600, maxConcurrent: 1);
        await harness.WaitForBatchAsync(second, "completed", TimeSpan.FromSeconds(20));

        Assert.Equal([CampaignHarness.ApiKey, "rotated-key"], harness.Fake.CreateRequests.OrderBy(r => r.At).Select(r => r.ApiKey));
    }

    [Fact]
    public async Task An_agency_key_is_stored_encrypted()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(harness.DatabaseUrl);
        await using var command = dataSource.CreateCommand("SELECT ultravox_api_key FROM agencies WHERE id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = harness.AgencyId });

        var stored = (byte[])(await command.ExecuteScalarAsync())!;

        Assert.DoesNotContain(CampaignHarness.ApiKey, System.Text.Encoding.UTF8.GetString(stored));
        Assert.Equal(CampaignHarness.ApiKey, harness.App.Get<CredentialCipher>().Decrypt(stored));
    }

    [Fact]
    public async Task A_batch_with_bad_settings_is_refused_whole()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());

        var pace = await Assert.ThrowsAsync<ArgumentException>(() => harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 0, maxConcurrent: 1));
        Assert.Contains("calls_per_minute", pace.Message);
        var mapping = await Assert.ThrowsAsync<ArgumentException>(() => harness.App.Get<Batches>().CreateAsync(
            new NewBatch(harness.AgencyId, 424242, "x", 60, 1, CampaignHarness.Contacts(1)), CancellationToken.None));
        Assert.Contains("agent mapping 424242", mapping.Message);
    }
}
