namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// What the campaign domain asks of the job engine (Hangfire, in HangfireWiring). Every job is
/// created after the domain rows commit; the rows say which job owns them, so a job that finds
/// it is no longer wanted stands down.
/// </summary>
public interface ICampaignJobs
{
    /// <summary>A job that dials the batch, enqueued now or scheduled for <paramref name="at"/>. Returns its id.</summary>
    string DialBatch(long batchId, string batchName, DateTimeOffset? at = null);

    /// <summary>A scheduled dial job runs now. False when it is not scheduled (already enqueued, running or gone).</summary>
    bool RunNow(string jobId);

    /// <summary>
    /// Jobs of the campaigns queue that have waited to be fetched longer than <paramref name="after"/>
    /// while campaigns workers are idle: the engine missed waking a worker for them. At most as
    /// many as there are idle workers, the oldest first.
    /// </summary>
    Task<IReadOnlyList<string>> StalledAsync(TimeSpan after, CancellationToken ct);

    /// <summary>
    /// Deletes a dial job that still waits in the queue and makes a new one for its batch, which
    /// the engine wakes a worker for. Returns the new job's id; null when the old one has started
    /// (or is gone) meanwhile, and nothing was changed.
    /// </summary>
    string? ReplaceWaiting(string jobId, long batchId, string batchName);

    /// <summary>A job that settles a dial of unknown outcome by looking the call up.</summary>
    void ResolveDial(long contactId, int attempt, TimeSpan after);

    /// <summary>A failed job standing for a contact whose call failed for good; Requeue on it places the call again. Returns its id.</summary>
    string FailedCall(long contactId, string label, string reason);

    /// <summary>Takes a failed call's job out of the Failed list (its contact was retried another way, or its batch cancelled).</summary>
    void Retire(string jobId);
}
