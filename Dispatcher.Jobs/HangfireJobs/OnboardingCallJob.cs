using System.ComponentModel;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Jobs.Onboarding;
using Hangfire;
using Hangfire.Server;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>
/// The job of one onboarding call (an outbound_call_jobs row) for all its attempts: each performance
/// places the row's next attempt, once. Hangfire stores this type's and method's names with every
/// job: renaming them breaks stored jobs (JobSignatureTests pin them).
/// </summary>
public sealed class OnboardingCallJob(PlaceOnboardingCall placement)
{
    /// <param name="user">A prefix of the user id, for the display name only.</param>
    /// <param name="context">Supplied by Hangfire: the job's id decides whether the row waits for this job.</param>
    // Retries are for provider trouble within one attempt (429, 503, unknown outcomes); busy and
    // no-answer arrive by status callback, which moves this job. A final failure is never retried.
    [Queue(HangfireSettings.OnboardingQueue)]
    [DisplayName("Onboarding call #{0} · user {1}")]
    [AutomaticRetry(Attempts = 8, DelaysInSeconds = new[] { 2, 5, 10, 30, 60, 120, 300, 600 }, ExceptOn = new[] { typeof(CallFailedException) })]
    public Task Run(long callId, string user, PerformContext context, CancellationToken ct) =>
        placement.RunAsync(callId, context.BackgroundJob.Id, ct);

    /// <summary>What a job's name shows of a user: the id's first 4 characters, never more.</summary>
    public static string UserLabel(string userId) => userId.Length <= 4 ? userId : $"{userId[..4]}…";
}
