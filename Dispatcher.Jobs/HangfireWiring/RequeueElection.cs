using Hangfire.States;

namespace Dispatcher.Jobs.HangfireWiring;

internal static class RequeueElection
{
    /// <summary>
    /// A failed job of <paramref name="jobType"/> being requeued: Enqueued elected from Failed (the
    /// dashboard's Requeue, on one job or many, or IBackgroundJobClient.Requeue).
    /// </summary>
    public static bool IsRequeueOfFailed(this ElectStateContext context, Type jobType) =>
        context.CandidateState is EnqueuedState && context.CurrentState == FailedState.StateName && context.BackgroundJob.Job?.Type == jobType;
}
