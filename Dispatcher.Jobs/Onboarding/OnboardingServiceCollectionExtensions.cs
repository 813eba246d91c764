using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Queue;
using Dispatcher.Queue.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.Onboarding;

public static class OnboardingServiceCollectionExtensions
{
    public const string Queue = "onboarding";

    /// <summary>Onboarding calls: intake, dispatch, the call job, status callbacks and TwiML (the table: AddDomainSchema).</summary>
    public static IServiceCollection AddOnboarding(this IServiceCollection services, OnboardingOptions options, TwilioOptions twilio)
    {
        services.AddSingleton(options);
        services.AddSingleton(twilio);
        services.TryAddSingleton<DialMetrics>();
        services.AddSingleton(sp => new TwilioClient(twilio, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<Signups>();
        services.AddSingleton<OnboardingCalls>();
        services.AddSingleton<OnboardingScripts>();
        services.AddSingleton<TwilioStatusCallback>();
        services.AddSingleton<SupabaseTrigger>();
        services.AddSingleton<OnboardingDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<SupabaseTrigger>());
        services.AddHostedService(sp => sp.GetRequiredService<OnboardingDispatcher>());
        services.AddSingleton(sp => new ChannelListener(OnboardingDispatcher.Channel, _ => sp.GetRequiredService<OnboardingDispatcher>().Announce()));
        // Retries of the POST itself (429, 20429, 5xx); busy/no-answer attempts are separate jobs.
        services.AddJob<PlaceOnboardingCallArgs, PlaceOnboardingCallHandler>("onboarding-call", k =>
        {
            k.Queue = Queue;
            k.MaxAttempts = 8;
            k.Retry = RetryPolicy.Exponential(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5));
        });
        return services;
    }
}
