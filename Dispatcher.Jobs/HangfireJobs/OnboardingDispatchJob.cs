using System.ComponentModel;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Jobs.Onboarding;
using Hangfire;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>
/// The recurring onboarding-dispatch (the seed's call_dispatcher): queued signups that have no live
/// call job get one, CALL_DISPATCHER_LIMIT a pass. Hangfire stores this type's and method's names.
/// </summary>
public sealed class OnboardingDispatchJob(OnboardingDispatcher dispatcher)
{
    public const string RecurringId = "onboarding-dispatch";

    // The next occurrence is the retry.
    [Queue(HangfireSettings.DefaultQueue)]
    [DisplayName("Onboarding dispatch · call jobs for signups that have none")]
    [AutomaticRetry(Attempts = 0)]
    public Task Run(CancellationToken ct) => dispatcher.PassAsync(ct);
}
