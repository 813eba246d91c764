using System.ComponentModel;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire;
using Hangfire.Server;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>
/// Dials a batch for a slice of minutes (BatchDialer), then hands it on. Database or network
/// trouble is retried soon; a batch that cannot dial at all (no Ultravox key) fails at once,
/// and Requeue, once the key is set, carries it on.
/// </summary>
public sealed class DialBatchJob(BatchDialer dialer)
{
    [Queue(HangfireSettings.CampaignsQueue)]
    [DisplayName("Dial batch {0} · {1}")]
    [AutomaticRetry(Attempts = 10, DelaysInSeconds = new[] { 1, 2, 5, 10, 20, 30, 60, 120, 300, 600 }, ExceptOn = new[] { typeof(BatchCannotDialException) })]
    public Task Run(long batchId, string batchName, PerformContext? context, CancellationToken cancellationToken) =>
        dialer.RunAsync(batchId, context?.BackgroundJob.Id ?? throw new InvalidOperationException("Hangfire passes the perform context"), cancellationToken);
}
