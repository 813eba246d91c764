namespace Dispatcher.Jobs.Onboarding;

/// <summary>A row that needs its call job: <see cref="JobId"/> is the job it had, if any (one job per row for all its attempts).</summary>
public sealed record OnboardingCallToEnqueue(long Id, string UserId, string? JobId = null);

/// <summary>
/// What the onboarding domain needs of the job engine (Hangfire, wired in HangfireWiring): one job
/// per outbound_call_jobs row, moved along as the call's attempts go. Calls return once the engine
/// has stored the change.
/// </summary>
public interface IOnboardingJobs
{
    /// <summary>Enqueues the row's job now: the one it had (moved to Enqueued) if that still exists, else a new one. Returns its id.</summary>
    string Enqueue(OnboardingCallToEnqueue call);

    /// <summary>Moves the row's job to run again at <paramref name="at"/> for the next attempt. False when the job is gone.</summary>
    bool ScheduleNextAttempt(string jobId, DateTimeOffset at, string reason);

    /// <summary>Moves the row's job to failed, with a reason an operator reads (no phone number, no secret). False when the job is gone.</summary>
    bool Fail(string jobId, string reason);
}
