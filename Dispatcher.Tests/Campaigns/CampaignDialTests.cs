using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;
using Dispatcher.Web.Telephony.Emulation;
using Npgsql;

namespace Dispatcher.Tests.Campaigns;

public sealed class CampaignDialTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(30);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_paced_capped_batch_calls_every_contact_exactly_once(int instances)
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), instances);
        var random = new Random(42);
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(500 + random.Next(1000));
        var contacts = CampaignHarness.Contacts(120);

        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 600, maxConcurrent: 10);
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(90));

        Assert.Equal(120, batch.Completed);
        Assert.All(contacts, c => Assert.Equal(1, harness.Fake.CreateRequestsFor(c.PhoneNumber)));
        Assert.InRange(harness.Fake.MaxLiveCallsFor(CampaignHarness.ApiKey), 1, 10);
        var sent = await harness.DialTimesAsync(batchId);
        var closestSent = sent.Zip(sent.Skip(1), (a, b) => b - a).Min();
        var arrived = harness.Fake.CreateRequestTimesFor(CampaignHarness.ApiKey).Order().ToList();
        var closestArrived = arrived.Zip(arrived.Skip(1), (a, b) => b - a).Min();
        var elapsed = sent[^1] - sent[0];
        Assert.True(closestSent >= TimeSpan.FromMilliseconds(100) - Tolerance,
            $"two dials sent only {closestSent.TotalMilliseconds:F0} ms apart (arrived {closestArrived.TotalMilliseconds:F0} ms apart); 120 dials over {elapsed.TotalSeconds:F1} s");
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task Calls_that_end_before_their_dialer_records_them_complete_and_keep_their_send_times()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        // Each call ends long before the next slot, when the dialer records it with the next reservation.
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(20);
        var contacts = CampaignHarness.Contacts(12);

        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 60, maxConcurrent: 1);
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(60));

        Assert.Equal(12, batch.Completed);
        Assert.All(contacts, c => Assert.Equal(1, harness.Fake.CreateRequestsFor(c.PhoneNumber)));
        // The last call's record may land a moment after the batch completed.
        var sent = await Eventually.Reaches(() => harness.DialTimesAsync(batchId), s => s.Count == 12, s => $"{s.Count} send times of 12");
        Assert.True(sent.Zip(sent.Skip(1), (a, b) => b - a).Min() >= TimeSpan.FromSeconds(1) - Tolerance);
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_call_recorded_with_the_next_reservation_starts_when_Ultravox_answered()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        // Each call outlasts the pace interval: it is recorded (a second later) before it ends.
        harness.Fake.CallDuration = _ => TimeSpan.FromSeconds(3);
        var contacts = CampaignHarness.Contacts(6);

        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 60, maxConcurrent: 5);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(60));

        await using var dataSource = Npgsql.NpgsqlDataSource.Create(harness.DatabaseUrl);
        await using var command = dataSource.CreateCommand("SELECT max(created_at - dialed_at) FROM calls WHERE batch_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = batchId });
        Assert.InRange((TimeSpan)(await command.ExecuteScalarAsync())!, TimeSpan.Zero, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task Rate_limited_dials_wait_for_Retry_After_without_spending_the_attempt()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.RespondNext(new EmulatedAnswer.RateLimit(429, "5"));

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 600, maxConcurrent: 5);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));

        var requests = harness.Fake.CreateRequestTimesFor(CampaignHarness.ApiKey).Order().ToList();
        Assert.Equal(4, requests.Count);
        Assert.True(requests[1] - requests[0] >= TimeSpan.FromSeconds(5) - Tolerance, $"resumed after {(requests[1] - requests[0]).TotalSeconds:F2} s");
        Assert.All(await harness.ContactsOfAsync(batchId), c => Assert.Equal(("completed", 1), (c.Status, c.Attempts)));
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_dial_that_times_out_after_the_call_was_created_is_found_and_not_dialled_again()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: new()
        {
            ["ULTRAVOX_TIMEOUT_SECONDS"] = "1",
            ["UNKNOWN_CALL_RECHECK_SECONDS"] = "1",
        });
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(300);
        harness.Fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(2), CreateCall: true));

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 60, maxConcurrent: 1, maxAttempts: 3);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));

        var contact = Assert.Single(await harness.ContactsOfAsync(batchId));
        Assert.Equal(("completed", 1), (contact.Status, contact.Attempts));
        Assert.Equal(1, harness.Fake.CreateRequestsFor(contact.Phone));
        Assert.Single(harness.Fake.Calls);
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_dial_that_times_out_without_a_call_is_tried_again_after_the_grace_period()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: new()
        {
            ["ULTRAVOX_TIMEOUT_SECONDS"] = "1",
            ["UNKNOWN_CALL_RECHECK_SECONDS"] = "1",
            ["UNKNOWN_CALL_GRACE_SECONDS"] = "2",
        });
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(2), CreateCall: false));

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1, maxAttempts: 2);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));

        var contact = Assert.Single(await harness.ContactsOfAsync(batchId));
        Assert.Equal(("completed", 2), (contact.Status, contact.Attempts));
        Assert.Equal(2, harness.Fake.CreateRequestsFor(contact.Phone));
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_refused_or_invalid_contact_fails_with_its_reason_and_the_batch_goes_on()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.RespondNext(new EmulatedAnswer.Reject(400, """{"detail":"bad destination"}"""));
        var contacts = new[] { new Dispatcher.Jobs.Campaigns.NewContact("+15551230001"), new("555-not-a-number"), new("+15551230003") };

        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 600, maxConcurrent: 2);
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));

        var result = await harness.ContactsOfAsync(batchId);
        Assert.Equal(("failed", 1), (result[0].Status, result[0].Attempts));
        Assert.Contains("bad destination", result[0].Error);
        Assert.Equal("failed", result[1].Status);
        Assert.Contains("invalid phone number", result[1].Error);
        Assert.Equal(0, harness.Fake.CreateRequestsFor("555-not-a-number"));
        Assert.Equal("completed", result[2].Status);
        Assert.Equal((1, 2), (batch.Completed, batch.Failed));
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_call_that_ends_unanswered_is_retried_while_attempts_remain()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var reasons = new Queue<string>(["unjoined", "timeout", "hangup"]);
        harness.Fake.EndReason = _ => { lock (reasons) return reasons.Count > 0 ? reasons.Dequeue() : "hangup"; };

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1, maxAttempts: 3);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));

        var contact = Assert.Single(await harness.ContactsOfAsync(batchId));
        Assert.Equal(("completed", 3), (contact.Status, contact.Attempts));
        Assert.Equal(3, harness.Fake.CreateRequestsFor(contact.Phone));
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task An_agency_without_an_Ultravox_key_fails_its_batch_with_the_reason()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), apiKey: null);

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(2), callsPerMinute: 600, maxConcurrent: 2);
        var batch = await harness.WaitForBatchAsync(batchId, "failed", TimeSpan.FromSeconds(30));

        Assert.Contains("no Ultravox API key", batch.LastError);
        Assert.Empty(harness.Fake.CreateRequests);
        Assert.Equal(2, batch.Queued); // nobody was dialled, nor lost an attempt
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_dialer_that_asks_while_nothing_can_be_dialled_keeps_its_batch_and_no_other_run_extends_its_lease()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        // Due in an hour: nothing can be dialled, and this test plays the batch's dialer, its lease about to run out.
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(2), callsPerMinute: 1, maxConcurrent: 1,
            scheduledFor: DateTimeOffset.UtcNow.AddHours(1));
        await using var dataSource = NpgsqlDataSource.Create(harness.DatabaseUrl);
        var ledger = harness.App.Get<ContactLedger>();
        async Task<DateTimeOffset> LeaseAsync()
        {
            await using var command = dataSource.CreateCommand("SELECT dialer_lease_until FROM call_batches WHERE id = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = batchId });
            return new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync())!); // timestamptz: UTC
        }
        async Task HandToAsync(string run, DateTimeOffset leaseUntil)
        {
            await using var command = dataSource.CreateCommand("UPDATE call_batches SET dialer = $2, dialer_lease_until = $3 WHERE id = $1");
            foreach (var value in new object[] { batchId, run, leaseUntil }) command.Parameters.Add(new NpgsqlParameter { Value = value });
            await command.ExecuteNonQueryAsync();
        }
        static DateTimeOffset InSeconds(int seconds) => DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddSeconds(seconds).ToUnixTimeMilliseconds());
        var runningOut = InSeconds(10);
        await HandToAsync("job-1/run", runningOut);

        var (contact, batch) = await ledger.ReserveAsync(batchId, "job-1/run", InSeconds(30), null, CancellationToken.None);
        Assert.Null(contact);
        Assert.True(batch!.Owned);
        var renewed = await LeaseAsync();
        Assert.True(renewed >= runningOut.AddSeconds(15), $"the lease ran out at {runningOut:O} and now runs out at {renewed:O}");

        // With time left, asking again leaves it be; another run asking never extends it.
        await ledger.ReserveAsync(batchId, "job-1/run", InSeconds(60), null, CancellationToken.None);
        Assert.Equal(renewed, await LeaseAsync());
        await HandToAsync("job-1/run", runningOut);
        var (_, seenByOther) = await ledger.ReserveAsync(batchId, "job-2/run", InSeconds(30), null, CancellationToken.None);
        Assert.False(seenByOther!.Owned);
        Assert.Equal(runningOut, await LeaseAsync());
    }
}
