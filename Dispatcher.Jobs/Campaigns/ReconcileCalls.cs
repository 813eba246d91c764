using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Queue;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Campaigns;

public sealed record ReconcileCallsArgs;

/// <summary>
/// Finds calls in progress for longer than ReconcileAfter and asks Ultravox how they stand, so a
/// lost webhook never leaves a contact, and so its batch, stuck.
/// </summary>
public sealed class ReconcileCallsHandler(NpgsqlDataSource dataSource, ContactLedger ledger, AgencyDirectory directory, UltravoxClient ultravox,
    CampaignOptions options, DialMetrics metrics, TimeProvider clock, ILogger<ReconcileCallsHandler> logger) : IJobHandler<ReconcileCallsArgs>
{
    private const int PerRun = 200;

    public async Task<JobResult> RunAsync(JobContext<ReconcileCallsArgs> job, CancellationToken ct)
    {
        var stale = new List<(long ContactId, int Attempt, string CallId, long AgencyId, long? MappingId)>();
        await using (var command = dataSource.CreateCommand(CampaignSql.StaleCalls))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() - options.ReconcileAfter });
            command.Parameters.Add(new NpgsqlParameter { Value = PerRun });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                stale.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetInt64(4)));
        }
        foreach (var (contactId, attempt, callId, agencyId, mappingId) in stale)
        {
            var setup = await directory.GetAsync(agencyId, mappingId, ct);
            if (setup.ApiKey is null) continue;
            UltravoxCall? call;
            try { call = await ultravox.GetCallAsync(setup.ApiKey, callId, ct); }
            catch (UltravoxException)
            {
                metrics.ProviderError("ultravox", "lookup_failed");
                throw;
            }
            if (call is null)
            {
                await ledger.CallEndedAsync(contactId, attempt, new UltravoxCall(callId, null, null, clock.GetUtcNow(), "system_error",
                    new Dictionary<string, string>()), ct);
                logger.LogWarning("Call {CallId} of contact {ContactId} is unknown to Ultravox; ended as system_error", callId, contactId);
            }
            else if (call.Ended is not null && await ledger.CallEndedAsync(contactId, attempt, call, ct))
            {
                logger.LogInformation("Call {CallId} of contact {ContactId} had ended without a webhook ({EndReason})", callId, contactId, call.EndReason);
            }
        }
        return JobResult.Completed;
    }
}
