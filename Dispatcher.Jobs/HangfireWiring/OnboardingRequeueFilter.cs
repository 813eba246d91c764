using Dispatcher.Jobs.HangfireJobs;
using Dispatcher.Jobs.Onboarding;
using Hangfire.States;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Requeue of a failed onboarding call job (the dashboard's button, or IBackgroundJobClient.Requeue):
/// its row is queued again with one more attempt allowed, so the job places the call once more.
/// Any other move of the job (a second Requeue, Requeue of a succeeded job) leaves the row be, and
/// the job then stands down. The row records who clicked, and when.
/// </summary>
public sealed class OnboardingRequeueFilter(OnboardingRequeues requeues, RequeueAuthor author) : IElectStateFilter
{
    public void OnStateElection(ElectStateContext context)
    {
        if (!context.IsRequeueOfFailed(typeof(OnboardingCallJob)) || context.BackgroundJob.Job.Args[0] is not long callId) return;
        context.SetJobParameter(HangfireOnboardingJobs.RetryCountParameter, 0);
        // Hangfire's filters are synchronous.
        requeues.ReopenAsync([callId], context.BackgroundJob.Id, author.Name, CancellationToken.None).GetAwaiter().GetResult();
    }
}
