using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Queue;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Jobs.Campaigns;

public static class CampaignServiceCollectionExtensions
{
    public const string Queue = "campaigns";

    /// <summary>
    /// Campaign batches: the dialler and its jobs, the webhook handler (tables: AddDomainSchema). The host adds the
    /// "campaigns" queue to the engine with <see cref="CampaignOptions.Workers"/> workers.
    /// </summary>
    public static IServiceCollection AddCampaigns(this IServiceCollection services, CampaignOptions options, UltravoxOptions ultravox, string credentialsKey)
    {
        services.AddSingleton(options);
        services.AddSingleton(ultravox);
        services.AddSingleton(new CredentialCipher(credentialsKey));
        services.AddSingleton<DialMetrics>();
        services.AddSingleton<AgencyDirectory>();
        services.AddSingleton<ContactLedger>();
        services.AddSingleton<Batches>();
        services.AddSingleton<BatchQueries>();
        services.AddSingleton<UltravoxWebhook>();
        services.AddSingleton(sp => new UltravoxClient(ultravox, sp.GetRequiredService<TimeProvider>()));

        // A handler that throws (database or network trouble) runs again soon; the dial protocol makes that safe.
        services.AddJob<ProcessBatchArgs, ProcessBatchHandler>("process-batch", k =>
        {
            k.Queue = Queue;
            k.MaxAttempts = 25;
            k.Retry = RetryPolicy.Exponential(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        });
        services.AddJob<ResolveContactArgs, ResolveContactHandler>("resolve-contact", k =>
        {
            k.Queue = Queue;
            k.MaxAttempts = 20;
            k.Retry = RetryPolicy.Exponential(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10));
        });
        services.AddJob<CampaignTickArgs, CampaignTickHandler>("campaign-tick", k => k.MaxAttempts = 1);
        services.AddJob<ReconcileCallsArgs, ReconcileCallsHandler>("reconcile-calls", k => k.MaxAttempts = 1);
        services.AddRecurringJob("campaign-tick", options.TickCron, new CampaignTickArgs());
        services.AddRecurringJob("reconcile-calls", options.ReconcileCron, new ReconcileCallsArgs());
        return services;
    }
}
