using Dispatcher.Jobs.HangfireJobs;
using Dispatcher.Jobs.Onboarding;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Jobs.HangfireWiring;

public static class OnboardingHangfireRegistration
{
    /// <summary>Onboarding calls as Hangfire jobs: the domain's seam, the jobs, their filters and the recurring onboarding-dispatch.</summary>
    public static IServiceCollection AddOnboardingJobs(this IServiceCollection services, OnboardingOptions options)
    {
        services.AddSingleton<IOnboardingJobs, HangfireOnboardingJobs>();
        services.AddTransient<OnboardingCallJob>();
        services.AddTransient<OnboardingDispatchJob>();
        // Harmless if registered twice: the second sees a Scheduled candidate and leaves it.
        services.AddSingleton(new JobFilterDeclaration(_ => new RetryAfterFilter(), RetryAfterFilter.Order));
        services.AddSingleton(new JobFilterDeclaration(sp => new OnboardingRequeueFilter(sp.GetRequiredService<OnboardingRequeues>(), sp.GetRequiredService<RequeueAuthor>())));
        services.AddSingleton(new RecurringJobDeclaration(OnboardingDispatchJob.RecurringId, options.DispatchCron, (manager, cron, recurring) =>
            manager.AddOrUpdate<OnboardingDispatchJob>(OnboardingDispatchJob.RecurringId, job => job.Run(CancellationToken.None), cron, recurring)));
        return services;
    }
}
