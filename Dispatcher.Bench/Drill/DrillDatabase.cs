using Npgsql;

namespace Dispatcher.Bench.Drill;

/// <summary>A contact as its row ends the drill, with the attempts it was allowed (operator requeues included).</summary>
public sealed record ContactRow(long Id, long BatchId, string PhoneNumber, string Status, int Attempts, int AllowedAttempts);

/// <summary>An onboarding call row as it ends the drill.</summary>
public sealed record SignupRow(long Id, string UserId, string PhoneNumber, string Status, int Attempts, int MaxAttempts, string? LastCallStatus, string? LastError);

/// <summary>The drill's own reads of the service's database; it writes nothing.</summary>
public sealed class DrillDatabase(string connectionString) : IAsyncDisposable
{
    public static readonly string[] FinalContactStates = ["completed", "failed", "cancelled"];
    public static readonly string[] FinalSignupStates = ["completed", "failed", "cancelled"];

    // The tables a request could write; their rows are fingerprinted around each bad input.
    private static readonly string[] DomainTables = ["agencies", "agent_mappings", "call_batches", "campaign_contacts", "calls", "outbound_call_jobs"];

    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString)
    {
        ApplicationName = "fault-drill",
        MaxPoolSize = 4,
    }.ConnectionString);

    /// <summary>
    /// Batches with contacts left to dial whose dialer is a job run processing on a Hangfire server
    /// of process <paramref name="pid"/> (server ids read host:pid:...). Empty when the database does not answer.
    /// </summary>
    public async Task<IReadOnlyList<long>> BatchesDialledByAsync(int pid, CancellationToken ct)
    {
        try
        {
            return await ReadAsync("""
                SELECT b.id FROM call_batches b
                JOIN hangfire.job j ON j.id = split_part(b.dialer, '/', 1)::bigint
                JOIN hangfire.state s ON s.id = j.stateid
                WHERE b.status = 'processing' AND b.queued > 0 AND b.dialer LIKE '%/%' AND s.name = 'Processing'
                  AND s.data::jsonb ->> 'ServerId' LIKE '%:' || $1 || ':%'
                """, r => r.GetInt64(0), ct, pid.ToString());
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return [];
        }
    }

    public Task<List<ContactRow>> ContactsAsync(CancellationToken ct) => ReadAsync("""
        SELECT c.id, c.batch_id, c.phone_number, c.status, c.attempts, b.max_attempts + c.extra_attempts
        FROM campaign_contacts c JOIN call_batches b ON b.id = c.batch_id
        """, r => new ContactRow(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5)), ct);

    public Task<List<SignupRow>> SignupsAsync(CancellationToken ct) => ReadAsync(
        "SELECT id, user_id, phone_number, status, attempts, max_attempts, last_call_status, last_error FROM outbound_call_jobs",
        r => new SignupRow(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5),
            r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7)), ct);

    /// <summary>Failed Hangfire jobs, by the reason their failed state gives.</summary>
    public async Task<Dictionary<string, int>> FailedJobsByReasonAsync(CancellationToken ct)
    {
        var reasons = await ReadAsync("""
            SELECT coalesce(s.data::jsonb ->> 'ExceptionMessage', s.reason, '(none)') FROM hangfire.job j
            JOIN hangfire.state s ON s.id = j.stateid WHERE j.statename = 'Failed'
            """, r => r.GetString(0), ct);
        return reasons.GroupBy(Reason).ToDictionary(g => g.Key, g => g.Count());

        // Grouped by their wording: numbers (ids, phone digits, seconds) left out.
        static string Reason(string message)
        {
            var text = System.Text.RegularExpressions.Regex.Replace(message, @"[+]?\d[\d*.]*", "#");
            return text.Length > 120 ? text[..120] : text;
        }
    }

    /// <summary>Each domain table's row count and a digest of all its rows: equal fingerprints, nothing written.</summary>
    public async Task<string> FingerprintAsync(CancellationToken ct)
    {
        var sql = string.Join(" || ' ' || ", DomainTables.Select(t =>
            $"(SELECT '{t}:' || count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x.id)), '') FROM {t} x)"));
        return (await ReadAsync($"SELECT {sql}", r => r.GetString(0), ct)).Single();
    }

    /// <summary>Whether no domain row changes over <paramref name="span"/>.</summary>
    public async Task<bool> QuietAsync(TimeSpan span, CancellationToken ct)
    {
        var before = await FingerprintAsync(ct);
        await Task.Delay(span, ct);
        return await FingerprintAsync(ct) == before;
    }

    private async Task<List<T>> ReadAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken ct, params object[] parameters)
    {
        await using var command = _source.CreateCommand(sql);
        foreach (var parameter in parameters) command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<T>();
        while (await reader.ReadAsync(ct)) rows.Add(read(reader));
        return rows;
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
