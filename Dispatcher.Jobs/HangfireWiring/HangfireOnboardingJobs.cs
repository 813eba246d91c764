using Dispatcher.Jobs.HangfireJobs;
using Dispatcher.Jobs.Onboarding;
using Hangfire;
using Hangfire.States;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>The onboarding domain's jobs as Hangfire jobs of <see cref="OnboardingCallJob"/>, through this instance's own client and storage.</summary>
public sealed class HangfireOnboardingJobs(IBackgroundJobClient client, JobStorage storage) : IOnboardingJobs
{
    public string Enqueue(OnboardingCallToEnqueue call)
    {
        if (call.JobId is { } existing && client.ChangeState(existing, new EnqueuedState { Reason = "Onboarding call queued again" }, null))
            return existing;
        return client.Enqueue<OnboardingCallJob>(job => job.Run(call.Id, OnboardingCallJob.UserLabel(call.UserId), null!, CancellationToken.None));
    }

    public bool ScheduleNextAttempt(string jobId, DateTimeOffset at, string reason)
    {
        // Each call attempt gets the whole provider-retry budget of the job again.
        using (var connection = storage.GetConnection()) connection.SetJobParameter(jobId, RetryCountParameter, "0");
        return client.ChangeState(jobId, new ScheduledState(WholeSecond.NotBefore(at)) { Reason = reason }, null);
    }

    public bool Fail(string jobId, string reason) =>
        client.ChangeState(jobId, new FailedState(new CallFailedException(reason)) { Reason = reason }, null);

    /// <summary>Where AutomaticRetry counts a job's retries.</summary>
    public const string RetryCountParameter = "RetryCount";
}
