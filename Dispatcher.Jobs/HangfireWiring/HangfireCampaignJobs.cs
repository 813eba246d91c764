using System.Globalization;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireJobs;
using Hangfire;
using Hangfire.States;
using Npgsql;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>The campaign domain's jobs, as Hangfire jobs of this service's own storage.</summary>
public sealed class HangfireCampaignJobs(IBackgroundJobClient client, NpgsqlDataSource dataSource, HangfireSettings settings) : ICampaignJobs
{
    public string DialBatch(long batchId, string batchName, DateTimeOffset? at = null) => at is { } when
        ? client.Schedule<DialBatchJob>(j => j.Run(batchId, batchName, null, CancellationToken.None), when)
        : client.Enqueue<DialBatchJob>(j => j.Run(batchId, batchName, null, CancellationToken.None));

    public bool RunNow(string jobId) => client.ChangeState(jobId, new EnqueuedState(HangfireSettings.CampaignsQueue), ScheduledState.StateName);

    /// <remarks>
    /// Hangfire.PostgreSql wakes an idle worker of this process with an in-memory signal per queue
    /// when a job is enqueued, and otherwise polls (every 120 s for campaigns). In the dispatch
    /// benchmark one wake-up of a thousand enqueued in 3 s went missing, and a batch started 28 s
    /// late. Idle workers: those of the live campaigns servers less the jobs they have fetched.
    /// </remarks>
    public async Task<IReadOnlyList<string>> StalledAsync(TimeSpan after, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            WITH idle AS (
                SELECT (SELECT coalesce(sum((data ->> 'WorkerCount')::int), 0) FROM "{settings.Schema}".server
                        WHERE data -> 'Queues' ? $1 AND lastheartbeat > now() - interval '1 minute')
                     - (SELECT count(*) FROM "{settings.Schema}".jobqueue WHERE queue = $1 AND fetchedat IS NOT NULL) AS workers)
            SELECT q.jobid FROM "{settings.Schema}".jobqueue q
            JOIN "{settings.Schema}".job j ON j.id = q.jobid
            JOIN "{settings.Schema}".state s ON s.id = j.stateid
            WHERE q.queue = $1 AND q.fetchedat IS NULL AND s.name = 'Enqueued' AND s.createdat < now() - $2
            ORDER BY q.jobid
            LIMIT greatest((SELECT workers FROM idle), 0)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = HangfireSettings.CampaignsQueue });
        command.Parameters.Add(new NpgsqlParameter { Value = after });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var stalled = new List<string>();
        while (await reader.ReadAsync(ct)) stalled.Add(reader.GetInt64(0).ToString(CultureInfo.InvariantCulture));
        return stalled;
    }

    // Deleted first: the new job's wake-up then fetches the old one's queue entry too (the oldest),
    // which Hangfire drops for its Deleted state, and fetches again at once, without a signal.
    public string? ReplaceWaiting(string jobId, long batchId, string batchName) =>
        client.ChangeState(jobId, new DeletedState { Reason = "Waited in the queue with workers idle; replaced by a new dial job" }, EnqueuedState.StateName)
            ? DialBatch(batchId, batchName)
            : null;

    public void ResolveDial(long contactId, int attempt, TimeSpan after)
    {
        if (after > TimeSpan.Zero) client.Schedule<ResolveDialJob>(j => j.Run(contactId, attempt, CancellationToken.None), after);
        else client.Enqueue<ResolveDialJob>(j => j.Run(contactId, attempt, CancellationToken.None));
    }

    public string FailedCall(long contactId, string label, string reason) =>
        client.Create<CampaignCallJob>(j => j.CallAgain(contactId, label, null, CancellationToken.None), new FailedState(new CampaignCallFailedException(reason)));

    public void Retire(string jobId) => client.Delete(jobId);
}
