using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Jobs.Notifications;
using Dispatcher.Jobs.Onboarding.Twilio;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dispatcher.Jobs.Onboarding;

public static class OnboardingServiceCollectionExtensions
{
    /// <summary>Onboarding calls: intake, dispatch, the call job, status callbacks and TwiML (the table: AddDomainSchema).</summary>
    public static IServiceCollection AddOnboarding(this IServiceCollection services, OnboardingOptions options, TwilioOptions twilio)
    {
        services.AddSingleton(options);
        services.AddSingleton(twilio);
        services.TryAddSingleton<DialMetrics>();
        services.AddSingleton(sp => new TwilioCalls(twilio, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<Signups>();
        services.AddSingleton<OnboardingCalls>();
        services.AddSingleton<OnboardingRequeues>();
        services.AddSingleton<OnboardingScripts>();
        services.AddSingleton<OnboardingDispatcher>();
        services.AddSingleton<OnboardingCallReconciler>();
        services.AddSingleton<PlaceOnboardingCall>();
        services.AddSingleton<TwilioStatusCallback>();
        services.AddSingleton<SupabaseTrigger>();
        services.AddSingleton<OnboardingAnnouncements>();
        services.AddHostedService(sp => sp.GetRequiredService<SupabaseTrigger>());
        services.AddHostedService(sp => sp.GetRequiredService<OnboardingAnnouncements>());
        services.AddChannelSubscription(OnboardingDispatcher.Channel, sp => _ => sp.GetRequiredService<OnboardingAnnouncements>().Announce());
        services.AddOnboardingJobs(options);
        return services;
    }
}
