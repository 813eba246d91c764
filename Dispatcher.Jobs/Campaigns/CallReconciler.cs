using Dispatcher.Jobs.Campaigns.Ultravox;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// Finds calls in progress for longer than ReconcileAfter and asks Ultravox how they stand, so a
/// lost webhook never leaves a contact, and so its batch, stuck; and unknown dials that have no
/// look-up running (the service stopped before making it), which get one.
/// </summary>
public sealed class CallReconciler(NpgsqlDataSource dataSource, ContactLedger ledger, AgencyDirectory directory, UltravoxClient ultravox,
    ICampaignJobs jobs, CampaignOptions options, DialMetrics metrics, TimeProvider clock, ILogger<CallReconciler> logger)
{
    private const int PerRun = 200;

    public async Task RunAsync(CancellationToken ct)
    {
        await using (var unknown = dataSource.CreateCommand(CampaignSql.StaleUnknown))
        {
            // Past its grace and a few look-ups more, a look-up job of its own would have settled it.
            unknown.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() - options.UnknownCallGrace - 4 * options.UnknownCallRecheck });
            unknown.Parameters.Add(new NpgsqlParameter { Value = PerRun });
            await using var reader = await unknown.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) jobs.ResolveDial(reader.GetInt64(0), reader.GetInt32(1), TimeSpan.Zero);
        }
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
                await EndLostAsync(contactId, attempt, callId, ct);
                logger.LogWarning("Call {CallId} of contact {ContactId} is unknown to Ultravox; ended as system_error", callId, contactId);
            }
            else if (call.Ended is not null && await ledger.CallEndedAsync(contactId, attempt, call, ct))
            {
                logger.LogInformation("Call {CallId} of contact {ContactId} had ended without a webhook ({EndReason})", callId, contactId, call.EndReason);
            }
        }
    }

    /// <summary>
    /// Ends every call in progress that <paramref name="isKnown"/> (the provider) does not know, as
    /// <see cref="RunAsync"/> ends a call Ultravox has lost, without waiting for ReconcileAfter.
    /// For a provider that forgets its calls when it restarts: the built-in simulator.
    /// </summary>
    public async Task<int> EndForgottenAsync(Func<string, bool> isKnown, CancellationToken ct)
    {
        var forgotten = new List<(long ContactId, int Attempt, string CallId)>();
        await using (var command = dataSource.CreateCommand(CampaignSql.StaleCalls))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
            command.Parameters.Add(new NpgsqlParameter { Value = int.MaxValue });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                if (!isKnown(reader.GetString(2))) forgotten.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2)));
        }
        var ended = 0;
        foreach (var (contactId, attempt, callId) in forgotten)
            if (await EndLostAsync(contactId, attempt, callId, ct)) ended++;
        return ended;
    }

    // A call the provider does not know ends as Ultravox ends a call it lost: system_error, its slot freed.
    private Task<bool> EndLostAsync(long contactId, int attempt, string callId, CancellationToken ct) =>
        ledger.CallEndedAsync(contactId, attempt, new UltravoxCall(callId, null, null, clock.GetUtcNow(), "system_error", new Dictionary<string, string>()), ct);
}
