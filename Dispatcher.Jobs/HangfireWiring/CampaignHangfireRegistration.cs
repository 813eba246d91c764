using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireJobs;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Jobs.HangfireWiring;

public static class CampaignHangfireRegistration
{
    /// <summary>Campaigns as Hangfire jobs: the domain's seam and the recurring campaign-tick and reconcile-calls.</summary>
    public static IServiceCollection AddCampaignJobs(this IServiceCollection services, CampaignOptions options)
    {
        services.AddSingleton<ICampaignJobs, HangfireCampaignJobs>();
        services.AddSingleton(new JobFilterDeclaration(sp => new CampaignRequeueFilter(sp.GetRequiredService<RequeueAuthor>())));
        services.AddSingleton(new RecurringJobDeclaration(CampaignTickJob.RecurringId, options.TickCron,
            (manager, cron, recurring) => manager.AddOrUpdate<CampaignTickJob>(CampaignTickJob.RecurringId, job => job.Run(CancellationToken.None), cron, recurring)));
        services.AddSingleton(new RecurringJobDeclaration(ReconcileCallsJob.RecurringId, options.ReconcileCron,
            (manager, cron, recurring) => manager.AddOrUpdate<ReconcileCallsJob>(ReconcileCallsJob.RecurringId, job => job.Run(CancellationToken.None), cron, recurring)));
        return services;
    }
}
