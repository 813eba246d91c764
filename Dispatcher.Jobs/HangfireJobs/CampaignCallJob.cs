using System.ComponentModel;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Jobs.HangfireJobs;

/// <summary>
/// Stands in Hangfire's Failed list for a campaign contact whose call failed for good: it is
/// created failed, with the reason. Requeue performs it, and the contact is dialled again
/// through its batch (FailedCalls), once however often Requeue is clicked.
/// </summary>
public sealed class CampaignCallJob(FailedCalls failedCalls, ILogger<CampaignCallJob> logger)
{
    [Queue(HangfireSettings.DefaultQueue)]
    [DisplayName("Campaign call · {1}")]
    // Created failed on purpose: Hangfire would log each one as an error ("Failed to process the job"); FailedCalls logs it as what it is.
    [AutomaticRetry(Attempts = 0, LogEvents = false)]
    public async Task CallAgain(long contactId, string label, PerformContext? context, CancellationToken cancellationToken)
    {
        var jobId = context?.BackgroundJob.Id ?? throw new InvalidOperationException("Hangfire passes the perform context");
        var requeuedBy = context.GetJobParameter<string>(RequeueAuthor.JobParameter) ?? RequeueAuthor.Unknown;
        if (await failedCalls.RequeueAsync(contactId, jobId, requeuedBy, cancellationToken))
            logger.LogInformation("Contact {ContactId} waits for a dial again: job {JobId} was requeued", contactId, jobId);
        else
            logger.LogInformation("Job {JobId} stands down: contact {ContactId} no longer waits for it", jobId, contactId);
    }
}

/// <summary>Why a campaign call failed for good, as the Failed list shows it. Never thrown: it carries the reason only.</summary>
public sealed class CampaignCallFailedException(string reason) : Exception(reason);
