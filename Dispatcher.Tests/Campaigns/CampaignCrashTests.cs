using System.Diagnostics;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;

namespace Dispatcher.Tests.Campaigns;

/// <summary>A second service instance in its own process, killed with SIGKILL in the middle of a campaign.</summary>
public sealed class CampaignCrashTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly Dictionary<string, string> FastRescue = new()
    {
        ["UNKNOWN_CALL_RECHECK_SECONDS"] = "1",
        ["UNKNOWN_CALL_GRACE_SECONDS"] = "3",
    };

    [Fact]
    public async Task An_instance_killed_mid_campaign_and_restarted_leaves_every_contact_ended_and_dialled_once()
    {
        var databaseUrl = await db.CreateExtraDatabaseAsync();
        await using var harness = await CampaignHarness.StartAsync(databaseUrl, settings: FastRescue);
        var random = new Random(7);
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(200 + random.Next(600));
        var contacts = Enumerable.Range(0, 8).SelectMany(b => CampaignHarness.Contacts(15, first: b * 100)).ToList();

        using var child = StartInstance(databaseUrl, harness.Fake.BaseUrl, harness.Fake.WebhookSecret);
        var batchIds = new List<long>();
        foreach (var chunk in contacts.Chunk(15))
            // Two attempts: a dial the kill interrupted before its request went out has no call at
            // Ultravox, so once the look-up is sure of that, the contact is dialled (for the first time).
            batchIds.Add(await harness.CreateBatchAsync(chunk, callsPerMinute: 300, maxConcurrent: 3, maxAttempts: 2));
        await Eventually.That(() => harness.Fake.CreateRequests.Count >= contacts.Count / 3);

        child.Kill(); // SIGKILL, whatever it was doing
        await child.WaitForExitAsync();
        using var restarted = StartInstance(databaseUrl, harness.Fake.BaseUrl, harness.Fake.WebhookSecret);
        try
        {
            foreach (var id in batchIds)
                Assert.Equal(15, (await harness.WaitForBatchAsync(id, "completed", TimeSpan.FromSeconds(90))).Completed);
        }
        finally
        {
            restarted.Kill();
        }

        Assert.All(contacts, c => Assert.Equal(1, harness.Fake.CreateRequestsFor(c.PhoneNumber)));
        foreach (var id in batchIds) await harness.AssertCountersMatchContactsAsync(id);
    }

    private static Process StartInstance(string databaseUrl, string ultravoxUrl, string webhookSecret) =>
        SiblingProgram.StartService(databaseUrl, new Dictionary<string, string>(FastRescue)
        {
            ["ULTRAVOX_BASE_URL"] = ultravoxUrl,
            ["ULTRAVOX_WEBHOOK_SECRETS"] = webhookSecret,
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });
}
