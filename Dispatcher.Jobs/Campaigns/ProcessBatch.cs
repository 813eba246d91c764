using System.Text.Json;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Queue;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Jobs.Campaigns;

public sealed record ProcessBatchArgs(long BatchId);

/// <summary>
/// The one live job of a batch: dials what the batch may dial now, then snoozes until its next
/// pace slot (or until a call end wakes it). It never sleeps in a worker; several instances
/// share the pace and the slots through the batch row.
/// </summary>
public sealed class ProcessBatchHandler(ContactLedger ledger, AgencyDirectory directory, UltravoxClient ultravox, CampaignOptions options,
    DialMetrics metrics, TimeProvider clock, ILogger<ProcessBatchHandler> logger) : IJobHandler<ProcessBatchArgs>
{
    private const int MaxDialsPerRun = 50;

    public async Task<JobResult> RunAsync(JobContext<ProcessBatchArgs> job, CancellationToken ct)
    {
        var batchId = job.Args.BatchId;
        for (var dials = 0; dials < MaxDialsPerRun; dials++)
        {
            var (contact, batch) = await ledger.ReserveAsync(batchId, ct);
            if (batch is null) return JobResult.Cancel($"batch {batchId} no longer exists");
            // This job is the batch's only dialler, so any other dial in flight at its start was
            // left by a run that died or was stopped mid-request.
            if (dials == 0 && batch.Dialing > (contact is null ? 0 : 1))
                await ledger.RecoverInterruptedAsync(batchId, contact?.Id, ct);
            var now = clock.GetUtcNow();
            switch (batch.Status)
            {
                case "pending" or "scheduled" when batch.ScheduledFor > now:
                    return JobResult.SnoozeUntil(batch.ScheduledFor.Value);
                case "pending" or "scheduled":
                    await ledger.StartAsync([batchId], ct);
                    continue;
                case not "processing":
                    return JobResult.Completed; // paused, cancelled, completed, failed: resume or retry enqueue again
            }
            if (contact is null)
            {
                if (batch.RateLimitedUntil > now) return JobResult.SnoozeUntil(batch.RateLimitedUntil.Value);
                if (batch.Queued == 0)
                {
                    // Nothing left to dial: live calls finish through their webhooks, which complete the batch.
                    await ledger.AfterContactFinishedAsync(batchId, requeued: false, ct);
                    return JobResult.Completed;
                }
                if (batch.NextDialAt > now) return JobResult.SnoozeUntil(batch.NextDialAt.Value);
                return JobResult.Snooze(options.SlotRecheck); // every slot busy; a call end wakes us sooner
            }
            // A dial tells when the next slot is; far enough ahead, sleep without asking again.
            if (await DialAsync(batchId, batch, contact, ct) is { } wait && wait > clock.GetUtcNow() + TimeSpan.FromMilliseconds(20))
                return JobResult.SnoozeUntil(wait);
        }
        return JobResult.Snooze(TimeSpan.Zero); // let other batches have the worker; carry on at once
    }

    /// <summary>Steps 2 and 3 of the dial protocol. Returns when the batch may dial next, if known.</summary>
    private async Task<DateTimeOffset?> DialAsync(long batchId, BatchState batch, ReservedContact contact, CancellationToken ct)
    {
        var setup = await directory.GetAsync(batch.AgencyId, batch.AgentMappingId, ct);
        if (setup.ApiKey is null || setup.AgentId is null || setup.FromNumber is null)
        {
            var reason = setup.ApiKey is null ? "the agency has no Ultravox API key" : "the batch has no valid agent mapping for its agency";
            await ledger.ReleaseAsync(contact, ct); // never dialled: its attempt is not spent
            await ledger.FailBatchAsync(batchId, reason, ct);
            logger.LogWarning("Batch {BatchId} failed: {Reason}", batchId, reason);
            return null;
        }
        if (!PhoneNumber.IsE164(contact.PhoneNumber))
        {
            await ledger.RejectedAsync(batchId, contact.Id, $"invalid phone number '{contact.PhoneNumber}': expected E.164 such as +14155550123", null, ct);
            metrics.Dial("ultravox", "invalid_number");
            return null;
        }

        var request = new StartCallRequest(setup.ApiKey, setup.AgentId, contact.PhoneNumber, setup.FromNumber,
            new Dictionary<string, string>
            {
                ["batch_id"] = batchId.ToString(),
                ["contact_id"] = contact.Id.ToString(),
                ["attempt"] = contact.Attempt.ToString(),
            },
            TemplateContext(contact));
        var dialedAt = clock.GetUtcNow();
        var outcome = await ultravox.StartAgentCallAsync(request, ct);
        switch (outcome)
        {
            case CreateCallOutcome.Created created:
                metrics.Dial("ultravox", "created");
                return await ledger.CreatedAsync(contact, created.Call, dialedAt, ct);
            case CreateCallOutcome.RateLimited limited:
                await ledger.RateLimitedAsync(batchId, contact, limited.RetryAfter, ct);
                metrics.Dial("ultravox", "rate_limited");
                logger.LogInformation("Ultravox rate-limited agency {AgencyId} ({Status}); waiting {RetryAfter}", batch.AgencyId, limited.Status, limited.RetryAfter);
                return clock.GetUtcNow() + limited.RetryAfter;
            case CreateCallOutcome.Rejected rejected:
                await ledger.RejectedAsync(batchId, contact.Id, $"Ultravox refused the call ({rejected.Status}): {rejected.Body}", dialedAt, ct);
                metrics.Dial("ultravox", "rejected");
                return null;
            case CreateCallOutcome.Unknown unknown:
                await ledger.UnknownAsync(contact, unknown.Reason, dialedAt, options.UnknownCallRecheck, ct);
                metrics.Dial("ultravox", "unknown");
                logger.LogWarning("Dial of contact {ContactId} has an unknown outcome: {Reason}", contact.Id, unknown.Reason);
                return null;
            default:
                throw new InvalidOperationException($"unexpected outcome {outcome}");
        }
    }

    /// <summary>The agent's prompt variables: the contact's own, plus its name.</summary>
    private static Dictionary<string, object?> TemplateContext(ReservedContact contact)
    {
        var context = JsonSerializer.Deserialize<Dictionary<string, object?>>(contact.VariablesJson) ?? [];
        if (contact.Name is not null) context["name"] = contact.Name;
        return context;
    }
}
