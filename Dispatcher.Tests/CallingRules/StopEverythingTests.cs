using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Testing;

namespace Dispatcher.Tests.CallingRules;

public sealed class StopEverythingTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Once_a_stop_has_answered_no_instance_dials_and_the_resume_gives_each_batch_its_earlier_state()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), instances: 3);
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(300);
        var running = await harness.CreateBatchAsync(CampaignHarness.Contacts(400), callsPerMinute: 1200, maxConcurrent: 5);
        var second = await harness.CreateBatchAsync(CampaignHarness.Contacts(400, first: 1000), callsPerMinute: 1200, maxConcurrent: 5);
        var pausedBefore = await harness.CreateBatchAsync(CampaignHarness.Contacts(10, first: 2000), callsPerMinute: 60, maxConcurrent: 1);
        var batches = harness.App.Get<Batches>();
        Assert.True(await batches.PauseAsync(pausedBefore, CancellationToken.None));
        await Eventually.That(() => harness.Fake.CreateRequestTimesFor(CampaignHarness.ApiKey).Count >= 20, "both batches dialling");

        // Asked of one instance; the others see it through the reservation statement.
        var outcome = await harness.Apps[1].Get<DispatchStops>().StopAsync(null, "test operator", CancellationToken.None);
        var answered = DateTimeOffset.UtcNow;
        var dialsAtAnswer = harness.Fake.CreateRequestTimesFor(CampaignHarness.ApiKey).Count;
        await Task.Delay(TimeSpan.FromSeconds(4));

        Assert.Equal((2, 0), (outcome.BatchesPaused, outcome.DialsUnsettled));
        Assert.Equal(dialsAtAnswer, harness.Fake.CreateRequestTimesFor(CampaignHarness.ApiKey).Count);
        Assert.DoesNotContain(harness.Fake.CreateRequestTimesFor(CampaignHarness.ApiKey), at => at > answered);
        Assert.All(await Task.WhenAll(new[] { running, second, pausedBefore }.Select(id => batches.GetAsync(id, CancellationToken.None))),
            b => Assert.Equal("paused", b!.Status));

        var resumed = await harness.Apps[2].Get<DispatchStops>().ResumeAsync(null, "test operator", CancellationToken.None);

        Assert.Equal(2, resumed.BatchesRestored);
        Assert.Equal("processing", (await batches.GetAsync(running, CancellationToken.None))!.Status);
        Assert.Equal("processing", (await batches.GetAsync(second, CancellationToken.None))!.Status);
        Assert.Equal("paused", (await batches.GetAsync(pausedBefore, CancellationToken.None))!.Status);
        await Eventually.That(() => harness.Fake.CreateRequestTimesFor(CampaignHarness.ApiKey).Count > dialsAtAnswer + 10, "dialling again after the resume");
        Assert.Empty(await harness.App.Get<DispatchStops>().InForceAsync(CancellationToken.None));
    }
}
