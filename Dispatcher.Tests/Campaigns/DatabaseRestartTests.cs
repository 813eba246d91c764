using Dispatcher.Testing;

namespace Dispatcher.Tests.Campaigns;

/// <summary>
/// Found by the fault drill: a dial job that failed as PostgreSQL restarted could not hand its batch
/// back to itself, so the batch waited out its dialer's 30 s lease before anyone dialled it again.
/// </summary>
public sealed class DatabaseRestartTests
{
    [Fact]
    public async Task A_batch_dials_on_within_seconds_of_an_immediate_database_restart_not_after_its_dialers_lease()
    {
        // A cluster of its own: the restart must not touch the other test classes' shared server.
        await using var server = await ThrowawayPostgres.StartAsync();
        await using var harness = await CampaignHarness.StartAsync(await server.CreateDatabaseAsync("restart"),
            settings: new() { ["HANGFIRE_SCHEDULE_POLL_SECONDS"] = "1" });
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        await harness.CreateBatchAsync(CampaignHarness.Contacts(90), callsPerMinute: 60, maxConcurrent: 2);
        await Eventually.That(() => harness.Fake.CreateRequests.Count >= 3, "the batch dialling");

        var restarting = DateTimeOffset.UtcNow;
        await server.RestartImmediatelyAsync();
        var back = DateTimeOffset.UtcNow;

        await Eventually.That(() => harness.Fake.CreateRequests.Any(r => r.At > back), "a dial after the restart", TimeSpan.FromSeconds(60));
        var waited = harness.Fake.CreateRequests.Where(r => r.At > back).Min(r => r.At) - restarting;
        Assert.True(waited < TimeSpan.FromSeconds(20), $"the batch dialled again {waited.TotalSeconds:F1} s after the restart began");
    }
}
