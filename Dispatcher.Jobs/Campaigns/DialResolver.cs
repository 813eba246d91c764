using Dispatcher.Jobs.Campaigns.Ultravox;
using Npgsql;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// Settles a dial whose outcome is unknown by looking the call up at Ultravox by its metadata:
/// found, it carries on as that call; not found after the grace period, the attempt counts as
/// failed (another one follows if allowed). Looks again every UnknownCallRecheck meanwhile. A
/// failing look-up throws, and Hangfire retries it. Never dials.
/// </summary>
public sealed class DialResolver(NpgsqlDataSource dataSource, ContactLedger ledger, AgencyDirectory directory, UltravoxClient ultravox,
    CampaignOptions options, DialMetrics metrics, TimeProvider clock)
{
    public async Task ResolveAsync(long contactId, int attempt, CancellationToken ct)
    {
        while (true)
        {
            await using var command = dataSource.CreateCommand(CampaignSql.ContactForLookup);
            command.Parameters.Add(new NpgsqlParameter { Value = contactId });
            string status;
            int attempts;
            DateTimeOffset since;
            long agencyId, batchId;
            long? mappingId;
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                if (!await reader.ReadAsync(ct)) return;
                (status, attempts, since, agencyId, mappingId, batchId) = (reader.GetString(0), reader.GetInt32(1), reader.GetFieldValue<DateTimeOffset>(3),
                    reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetInt64(5), reader.GetInt64(6));
            }
            if (status != "unknown" || attempts != attempt) return; // settled meanwhile (e.g. by its webhook)

            var setup = await directory.GetAsync(agencyId, mappingId, ct);
            if (setup.ApiKey is null)
            {
                await ledger.GiveUpAsync(batchId, contactId, attempt, "outcome unknown and the agency has no Ultravox key to look the call up", ct);
                return;
            }
            IReadOnlyList<UltravoxCall> calls;
            try { calls = await ultravox.FindCallsByMetadataAsync(setup.ApiKey, "contact_id", contactId.ToString(), ct); }
            catch (UltravoxException)
            {
                metrics.ProviderError("ultravox", "lookup_failed");
                throw;
            }
            var call = calls.FirstOrDefault(c => c.Metadata.TryGetValue("attempt", out var a) && a == attempt.ToString());
            if (call is not null)
            {
                if (call.Ended is not null) await ledger.CallEndedAsync(contactId, attempt, call, ct);
                else await ledger.FoundLiveAsync(contactId, attempt, call, ct);
                return;
            }
            if (clock.GetUtcNow() - since >= options.UnknownCallGrace)
            {
                await ledger.GiveUpAsync(batchId, contactId, attempt,
                    $"outcome unknown and no call found at Ultravox after {options.UnknownCallGrace.TotalSeconds:F0} s", ct);
                return;
            }
            await Task.Delay(options.UnknownCallRecheck, clock, ct);
        }
    }
}
