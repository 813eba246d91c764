using Dispatcher.Jobs.Campaigns;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>
/// Gives a batch's queued contacts whose window has closed their next one, and tells when the next
/// window opens. The dialer calls it only when no contact's window is open, so the reservation
/// never does zone arithmetic.
/// </summary>
public sealed class ContactWindows(NpgsqlDataSource dataSource, CallingRulesOptions options, TimeProvider clock)
{
    private const int Round = 5_000;

    /// <summary>When the batch's first queued contact may be called (now or later); null when none is queued.</summary>
    public async Task<DateTimeOffset?> RollAsync(long batchId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var planner = new WindowPlanner(await HoursAsync(batchId, ct), now);
        while (true)
        {
            var ids = new List<long>();
            var opens = new List<DateTimeOffset>();
            var closes = new List<DateTimeOffset>();
            var zonesOf = new List<string>();
            await using (var command = dataSource.CreateCommand(CampaignSql.ClosedWindows))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = batchId });
                command.Parameters.Add(new NpgsqlParameter { Value = now });
                command.Parameters.Add(new NpgsqlParameter { Value = Round });
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var zones = reader.GetFieldValue<string[]>(2) is { Length: > 0 } known ? known : ContactZones.Of(reader.GetString(1), null);
                    // No common hour this week: it waits, and is looked at again in a day.
                    var window = planner.For(zones) ?? new OpenWindow(now.AddDays(1), now.AddDays(1));
                    ids.Add(reader.GetInt64(0));
                    opens.Add(window.OpensAt);
                    closes.Add(window.ClosesAt);
                    zonesOf.Add(string.Join(',', zones ?? []));
                }
            }
            if (ids.Count > 0)
            {
                await using var update = dataSource.CreateCommand(CampaignSql.SetWindows);
                update.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                update.Parameters.Add(new NpgsqlParameter { Value = opens.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
                update.Parameters.Add(new NpgsqlParameter { Value = closes.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
                update.Parameters.Add(new NpgsqlParameter { Value = zonesOf.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                await update.ExecuteNonQueryAsync(ct);
            }
            if (ids.Count < Round) break;
        }
        await using var next = dataSource.CreateCommand(CampaignSql.NextWindow);
        next.Parameters.Add(new NpgsqlParameter { Value = batchId });
        next.Parameters.Add(new NpgsqlParameter { Value = now });
        return await next.ExecuteScalarAsync(ct) is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    /// <summary>
    /// Sets an agency's calling hours (null: the service's) in one transaction with its running
    /// batches' queued contacts marked for a new window, which their dialers work out before the
    /// next dial. False when there is no such agency.
    /// </summary>
    public async Task<bool> SetAgencyHoursAsync(long agencyId, CallingHours? hours, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            WITH agency AS (
                UPDATE agencies SET calling_start_minute = $2, calling_end_minute = $3, calling_days = $4, updated_at = $5 WHERE id = $1 RETURNING id),
            reopened AS (
                UPDATE campaign_contacts SET window_closes_at = '-infinity'
                WHERE status = 'queued' AND batch_id IN (
                    SELECT id FROM call_batches WHERE agency_id = (SELECT id FROM agency) AND status IN ('pending', 'scheduled', 'processing', 'paused')))
            SELECT count(*) FROM agency
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        foreach (var value in StoredHours.Values(hours)) command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        return (long)(await command.ExecuteScalarAsync(ct))! > 0;
    }

    /// <summary>The hours the batch's contacts are judged by.</summary>
    public async Task<CallingHours?> HoursAsync(long batchId, CancellationToken ct) =>
        (await HoursAsync([batchId], ct)).GetValueOrDefault(batchId);

    /// <summary>The effective hours of each batch that exists (null: its own leave none of its agency's), in one read.</summary>
    public async Task<IReadOnlyDictionary<long, CallingHours?>> HoursAsync(IReadOnlyCollection<long> batchIds, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(CampaignSql.HoursOfBatches);
        command.Parameters.Add(new NpgsqlParameter { Value = batchIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var hours = new Dictionary<long, CallingHours?>();
        while (await reader.ReadAsync(ct))
            hours[reader.GetInt64(0)] = options.HoursFor(StoredHours.Read(reader, 1), StoredHours.Read(reader, 4));
        return hours;
    }
}
