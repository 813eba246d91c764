using System.ComponentModel;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>Settles a dial of unknown outcome by looking its call up (DialResolver); never dials. A failing look-up is retried.</summary>
public sealed class ResolveDialJob(DialResolver resolver)
{
    [Queue(HangfireSettings.CampaignsQueue)]
    [DisplayName("Look up the call of contact {0}, attempt {1}")]
    [AutomaticRetry(Attempts = 20, DelaysInSeconds = new[] { 2, 4, 8, 16, 32, 60, 120, 300, 600 })]
    public Task Run(long contactId, int attempt, CancellationToken cancellationToken) => resolver.ResolveAsync(contactId, attempt, cancellationToken);
}
