using System.Reflection;
using Dispatcher.Jobs.Telephony;
using Hangfire;
using Hangfire.States;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// A job that failed because the provider said "come back in N seconds" (a <see cref="ProviderBusyException"/>
/// with Retry-After) is retried after that delay rather than the job's own backoff, counted against
/// its [AutomaticRetry] attempts as any retry. Runs before AutomaticRetry, which then leaves it be.
/// </summary>
public sealed class RetryAfterFilter : IElectStateFilter
{
    /// <summary>Before AutomaticRetryAttribute's order (20).</summary>
    public const int Order = 10;

    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is not FailedState { Exception: ProviderBusyException { RetryAfter: { } delay } busy }) return;
        var job = context.BackgroundJob.Job;
        var retry = job?.Method.GetCustomAttribute<AutomaticRetryAttribute>() ?? job?.Type.GetCustomAttribute<AutomaticRetryAttribute>();
        if (retry is null) return;
        var attempt = context.GetJobParameter<int>(HangfireOnboardingJobs.RetryCountParameter, allowStale: true) + 1;
        if (attempt > retry.Attempts) return; // AutomaticRetry fails it
        context.SetJobParameter(HangfireOnboardingJobs.RetryCountParameter, attempt);
        // "Retry attempt" is how AutomaticRetry's reasons begin: it lists the job among retries.
        context.CandidateState = new ScheduledState(WholeSecond.NotBefore(DateTimeOffset.UtcNow + delay)) { Reason = $"Retry attempt {attempt} of {retry.Attempts} after Retry-After {delay.TotalSeconds:0.#} s: {busy.Message}" };
    }
}
