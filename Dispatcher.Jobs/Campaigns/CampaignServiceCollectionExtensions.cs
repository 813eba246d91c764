using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Jobs.Notifications;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Jobs.Campaigns;

public static class CampaignServiceCollectionExtensions
{
    /// <summary>
    /// Campaign batches: the dialler and what its Hangfire jobs run, the recurring tick and
    /// reconciliation, the webhook handler (tables: AddDomainSchema). Hangfire's campaigns server
    /// runs <see cref="CampaignOptions.Workers"/> workers.
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

        services.AddSingleton<BatchWakeups>();
        services.AddSingleton<BatchWaker>();
        services.AddSingleton<FailedCalls>();
        services.AddSingleton<BatchDialer>();
        services.AddSingleton<DialResolver>();
        services.AddSingleton<CampaignTick>();
        services.AddSingleton<CallReconciler>();
        services.AddChannelSubscription(BatchWakeups.Channel, sp => sp.GetRequiredService<BatchWakeups>().Heard);
        services.AddCampaignJobs(options);
        return services;
    }
}
