using Dispatcher.Jobs.Campaigns;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>A do-not-call entry: when and by whom it was added, and removed if it was.</summary>
public sealed record DoNotCallEntry(long Id, long AgencyId, string PhoneNumber, string? Reason, DateTimeOffset AddedAt, string AddedBy,
    DateTimeOffset? RemovedAt, string? RemovedBy);

public sealed record DoNotCallPage(IReadOnlyList<DoNotCallEntry> Entries, long? NextBeforeId);

/// <summary>
/// An agency's do-not-call list. Entries are never deleted: removing one records when and by whom on
/// it, so the audit keeps every suppression. Campaign contacts are checked at import and inside the
/// reservation statement; onboarding calls against every agency's list.
/// </summary>
public sealed class DoNotCallList(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxNumbersPerRequest = 100_000;
    public const int MaxPageSize = 200;

    /// <summary>Adds the numbers not listed yet; returns how many were added. False agency: null.</summary>
    public async Task<int?> AddAsync(long agencyId, IReadOnlyCollection<string> numbers, string? reason, string by, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            WITH agency AS (SELECT id FROM agencies WHERE id = $1),
            added AS (
                INSERT INTO do_not_call (agency_id, phone_number, reason, added_at, added_by)
                SELECT (SELECT id FROM agency), n, $3, $4, $5 FROM unnest($2::text[]) AS n WHERE EXISTS (SELECT 1 FROM agency)
                ON CONFLICT (agency_id, phone_number) WHERE removed_at IS NULL DO NOTHING
                RETURNING 1)
            SELECT CASE WHEN EXISTS (SELECT 1 FROM agency) THEN (SELECT count(*)::int FROM added) END
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        command.Parameters.Add(new NpgsqlParameter { Value = numbers.Distinct().ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)reason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter { Value = by });
        return await command.ExecuteScalarAsync(ct) as int?;
    }

    /// <summary>Ends the listed numbers' entries; returns how many were in force. False agency: null.</summary>
    public async Task<int?> RemoveAsync(long agencyId, IReadOnlyCollection<string> numbers, string by, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            WITH removed AS (
                UPDATE do_not_call SET removed_at = $3, removed_by = $4
                WHERE agency_id = $1 AND phone_number = ANY ($2) AND removed_at IS NULL
                RETURNING 1)
            SELECT CASE WHEN EXISTS (SELECT 1 FROM agencies WHERE id = $1) THEN (SELECT count(*)::int FROM removed) END
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        command.Parameters.Add(new NpgsqlParameter { Value = numbers.Distinct().ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter { Value = by });
        return await command.ExecuteScalarAsync(ct) as int?;
    }

    /// <summary>Entries newest first (those removed too when <paramref name="withRemoved"/>), paged by id; all agencies when null.</summary>
    public async Task<DoNotCallPage> ListAsync(long? agencyId, bool withRemoved, long? beforeId, int limit, CancellationToken ct)
    {
        limit = Math.Clamp(limit, 1, MaxPageSize);
        await using var command = dataSource.CreateCommand("""
            SELECT id, agency_id, phone_number, reason, added_at, added_by, removed_at, removed_by FROM do_not_call
            WHERE ($1::bigint IS NULL OR agency_id = $1) AND ($2 OR removed_at IS NULL) AND ($3::bigint IS NULL OR id < $3)
            ORDER BY id DESC LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)agencyId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = withRemoved });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)beforeId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var entries = new List<DoNotCallEntry>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                entries.Add(new DoNotCallEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7)));
        if (entries.Count <= limit) return new DoNotCallPage(entries, null);
        entries.RemoveAt(limit);
        return new DoNotCallPage(entries, entries[^1].Id);
    }

    /// <summary>The number of an entry of the agency's list still in force, or null: the dashboard's remove button names the entry, not the number it masks.</summary>
    public async Task<string?> NumberInForceAsync(long agencyId, long entryId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT phone_number FROM do_not_call WHERE id = $1 AND agency_id = $2 AND removed_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = entryId });
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        return await command.ExecuteScalarAsync(ct) as string;
    }

    /// <summary>The phone numbers of an upload, one per line or in a phone_number column; invalid ones by line.</summary>
    public static (List<string> Numbers, Dictionary<string, string[]> Invalid) Check(IEnumerable<(string Where, string? Number)> numbers)
    {
        var valid = new List<string>();
        var invalid = new Dictionary<string, string[]>();
        foreach (var (where, number) in numbers)
        {
            var trimmed = number?.Trim() ?? "";
            if (PhoneNumber.IsE164(trimmed)) valid.Add(trimmed);
            else invalid[where] = [trimmed.Length == 0 ? "is missing" : $"'{(trimmed.Length > 40 ? trimmed[..40] + "..." : trimmed)}' is not in E.164 form, e.g. +14155550123"];
        }
        return (valid, invalid);
    }
}
