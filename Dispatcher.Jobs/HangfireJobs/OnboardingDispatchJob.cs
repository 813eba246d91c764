using System.ComponentModel;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Jobs.Onboarding;
using Hangfire;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>
/// The recurring onboarding-dispatch (the seed's call_dispatcher): queued signups that have no live
/// call job get one, CALL_DISPATCHER_LIMIT a pass; then calls whose final status never came are
/// looked up at Twilio. Hangfire stores this type's and method's names.
/// </summary>
public sealed class OnboardingDispatchJob(OnboardingDispatcher dispatcher, OnboardingCallReconciler reconciler)
{
    public const string RecurringId = "onboarding-dispatch";

    // The next occurrence is the retry.
    [Queue(HangfireSettings.DefaultQueue)]
    [DisplayName("Onboarding dispatch · call jobs for signups that have none")]
    [AutomaticRetry(Attempts = 0)]
    public async Task Run(CancellationToken ct)
    {
        await dispatcher.PassAsync(ct);
        await reconciler.PassAsync(ct);
    }
}
