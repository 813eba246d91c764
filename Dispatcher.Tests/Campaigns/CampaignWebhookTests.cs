using System.Text.Json;
using Dispatcher.Testing;
using Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Tests.Campaigns;

/// <summary>POST /webhooks/ultravox: forged, stale, duplicate and out-of-order deliveries are refused or harmless.</summary>
public sealed class CampaignWebhookTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Forged_and_stale_webhooks_are_refused_with_401_and_change_nothing()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromHours(1); // the call stays live: only our deliveries could end it
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 60, maxConcurrent: 1);
        await Eventually.That(async () => (await harness.ContactsOfAsync(batchId))[0].Status == "in_progress");
        var body = EndedBody(harness.Fake.Calls[0], "hangup");

        Assert.Equal(401, await harness.Fake.SendWebhookAsync(body, signature: new string('0', 64)));
        Assert.Equal(401, await harness.Fake.SendWebhookAsync(body, signature: ""));
        Assert.Equal(401, await harness.Fake.SendWebhookAsync(body, timestamp: DateTimeOffset.UtcNow.AddMinutes(-10).ToString("O")));
        Assert.Equal(401, await harness.Fake.SendWebhookAsync(body.Replace("hangup", "agent_hangup"), signature: Signature(body, harness.Fake.WebhookSecret)));

        Assert.Equal("in_progress", (await harness.ContactsOfAsync(batchId))[0].Status);
    }

    [Fact]
    public async Task A_duplicate_call_ended_is_acknowledged_and_changes_nothing()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.EndReason = _ => "unjoined";
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1, maxAttempts: 2);
        await Eventually.That(async () => harness.Fake.Calls.Count == 2 && harness.Fake.Calls.All(c => c.Ended is not null));
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(10));
        var before = await harness.ContactsOfAsync(batchId);

        // Replays of both attempts' endings, the first one now stale, arrive again.
        foreach (var call in harness.Fake.Calls)
            Assert.Equal(204, await harness.Fake.SendWebhookAsync(harness.Fake.CallEndedBody(call.CallId)));

        Assert.Equal(before, await harness.ContactsOfAsync(batchId));
        Assert.Equal(("failed", 2), (before[0].Status, before[0].Attempts));
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task A_stale_attempts_ending_cannot_finish_the_current_attempt()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var durations = new Queue<TimeSpan>([TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1)]);
        harness.Fake.CallDuration = _ => { lock (durations) return durations.Dequeue(); };
        harness.Fake.EndReason = _ => "unjoined";
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1, maxAttempts: 2);
        await Eventually.That(async () => (await harness.ContactsOfAsync(batchId))[0] is { Status: "in_progress", Attempts: 2 });

        var first = harness.Fake.Calls.OrderBy(c => c.Created).First();
        var replay = harness.Fake.CallEndedBody(first.CallId).Replace("unjoined", "hangup"); // an out-of-order, different story
        Assert.Equal(204, await harness.Fake.SendWebhookAsync(replay));

        Assert.Equal("in_progress", (await harness.ContactsOfAsync(batchId))[0].Status);
    }

    [Fact]
    public async Task Webhooks_for_unknown_calls_and_other_events_are_acknowledged_and_ignored()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());

        var foreign = """{"event":"call.ended","call":{"callId":"7d1c2a9e-0000-4000-8000-000000000000","endReason":"hangup","metadata":{}}}""";
        var unknownContact = """{"event":"call.ended","call":{"callId":"7d1c2a9e-0000-4000-8000-000000000001","endReason":"hangup","metadata":{"contact_id":"999999","attempt":"1"}}}""";
        var joined = """{"event":"call.joined","call":{"callId":"7d1c2a9e-0000-4000-8000-000000000002","metadata":{}}}""";

        Assert.Equal(204, await harness.Fake.SendWebhookAsync(foreign));
        Assert.Equal(204, await harness.Fake.SendWebhookAsync(unknownContact));
        Assert.Equal(204, await harness.Fake.SendWebhookAsync(joined));
        Assert.Equal(400, await harness.Fake.SendWebhookAsync("not json"));
    }

    private static string EndedBody(EmulatedUltravoxCall call, string endReason) => JsonSerializer.Serialize(new
    {
        @event = "call.ended",
        call = new { callId = call.CallId, endReason, ended = DateTimeOffset.UtcNow, metadata = call.Metadata },
    });

    private static string Signature(string body, string secret) =>
        Dispatcher.Jobs.Campaigns.Ultravox.UltravoxSignature.Sign(System.Text.Encoding.UTF8.GetBytes(body), DateTimeOffset.UtcNow.ToString("O"), secret);
}
