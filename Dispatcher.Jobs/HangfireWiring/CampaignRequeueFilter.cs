using Dispatcher.Jobs.HangfireJobs;
using Hangfire.States;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Requeue of a failed campaign call's job: the job carries who clicked it to its perform
/// (CampaignCallJob), which records it on the contact with the dial it allows.
/// </summary>
public sealed class CampaignRequeueFilter(RequeueAuthor author) : IElectStateFilter
{
    public void OnStateElection(ElectStateContext context)
    {
        if (!context.IsRequeueOfFailed(typeof(CampaignCallJob))) return;
        context.SetJobParameter(RequeueAuthor.JobParameter, author.Name);
    }
}
