using System.ComponentModel;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>The recurring `campaign-tick` (the seed's calls-batch-process): CampaignTick. A failed occurrence waits for the next.</summary>
public sealed class CampaignTickJob(CampaignTick tick)
{
    public const string RecurringId = "campaign-tick";

    [Queue(HangfireSettings.DefaultQueue)]
    [DisplayName("Campaign tick: start due batches, give undialled ones a dial job")]
    [AutomaticRetry(Attempts = 0)]
    public Task Run(CancellationToken cancellationToken) => tick.RunAsync(cancellationToken);
}
