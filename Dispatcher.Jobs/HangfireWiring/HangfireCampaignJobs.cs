using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireJobs;
using Hangfire;
using Hangfire.States;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>The campaign domain's jobs, as Hangfire jobs of this service's own storage.</summary>
public sealed class HangfireCampaignJobs(IBackgroundJobClient client) : ICampaignJobs
{
    public string DialBatch(long batchId, string batchName, DateTimeOffset? at = null) => at is { } when
        ? client.Schedule<DialBatchJob>(j => j.Run(batchId, batchName, null, CancellationToken.None), when)
        : client.Enqueue<DialBatchJob>(j => j.Run(batchId, batchName, null, CancellationToken.None));

    public bool RunNow(string jobId) => client.ChangeState(jobId, new EnqueuedState(HangfireSettings.CampaignsQueue), ScheduledState.StateName);

    public void ResolveDial(long contactId, int attempt, TimeSpan after)
    {
        if (after > TimeSpan.Zero) client.Schedule<ResolveDialJob>(j => j.Run(contactId, attempt, CancellationToken.None), after);
        else client.Enqueue<ResolveDialJob>(j => j.Run(contactId, attempt, CancellationToken.None));
    }

    public string FailedCall(long contactId, string label, string reason) =>
        client.Create<CampaignCallJob>(j => j.CallAgain(contactId, label, null, CancellationToken.None), new FailedState(new CampaignCallFailedException(reason)));

    public void Retire(string jobId) => client.Delete(jobId);
}
