using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Bench;

/// <summary>
/// The benchmark's own queries, on one connection of their own (so they never take the service's),
/// each marked with <see cref="Marker"/> so pg_stat_statements can leave them out, and counted so
/// their transactions can be taken out of the commits.
/// </summary>
public sealed class BenchQueries(string connectionString, string applicationName) : IAsyncDisposable
{
    public const string Marker = "/* bench */ ";

    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(
        new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 1, ApplicationName = applicationName }.ConnectionString);

    /// <summary>Statements sent so far, each its own transaction.</summary>
    public long Queries { get; private set; }

    /// <summary>pg_stat_statements.track: "top" counts what clients send, "all" also statements run inside functions and triggers.</summary>
    public string Track { get; private set; } = "";

    /// <summary>Empties pg_stat_statements; false where it is not available (not in shared_preload_libraries, or no rights).</summary>
    public async Task<bool> TryResetStatementStatsAsync()
    {
        try
        {
            await ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            await ExecuteAsync("SELECT pg_stat_statements_reset()");
            await using var command = Command("SELECT current_setting('pg_stat_statements.track')");
            Track = (string)(await command.ExecuteScalarAsync())!;
            return true;
        }
        catch (PostgresException)
        {
            return false;
        }
    }

    /// <summary>
    /// Statements run in this database since the reset, except the benchmark's own; and how
    /// many of them were Npgsql's DISCARD ALL, sent when a pooled connection is reused.
    /// </summary>
    public async Task<(long All, long DiscardAll)> StatementsAsync()
    {
        await using var command = Command("""
            SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(calls) FILTER (WHERE query = 'DISCARD ALL'), 0)::bigint
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%'
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The busiest statements to stderr: by calls, then by total execution time (where PostgreSQL's time goes).</summary>
    public async Task PrintTopStatementsAsync()
    {
        foreach (var order in new[] { "calls", "total_exec_time" })
        {
            await using var command = Command($"""
                SELECT calls, round(total_exec_time)::bigint, round(mean_exec_time::numeric, 3)::float8, rows,
                       regexp_replace(left(query, 110), '\s+', ' ', 'g')
                FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%'
                ORDER BY {order} DESC LIMIT 20
                """);
            await using var reader = await command.ExecuteReaderAsync();
            Console.Error.WriteLine($"top statements by {order} (calls, total ms, mean ms, rows, query):");
            while (await reader.ReadAsync())
                Console.Error.WriteLine($"  {reader.GetInt64(0),8} {reader.GetInt64(1),8} {reader.GetDouble(2),8:F3} {reader.GetInt64(3),8}  {reader.GetString(4)}");
        }
    }

    public Task<long> CommitsAsync() => ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");

    /// <summary>CPU time so far, of the server's processes too when it runs on this machine (Linux only).</summary>
    public async Task<CpuTime> CpuTimeAsync(bool serverOnThisMachine) =>
        await CpuTime.ReadAsync(serverOnThisMachine && OperatingSystem.IsLinux() ? await ServerPidsAsync() : null);

    private async Task<List<int>> ServerPidsAsync()
    {
        await using var command = Command("SELECT pid FROM pg_stat_activity");
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) pids.Add(reader.GetInt32(0));
        return pids;
    }

    /// <summary>Exiting backends report their counts; wait until the service's have gone.</summary>
    public async Task WaitForOtherBackendsToLeaveAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        const string others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()";
        while (await ScalarAsync(others) > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        // Our own backend reports at most once a second while busy: make it report now (PostgreSQL 15+).
        try { await ExecuteAsync("SELECT pg_stat_force_next_flush()"); }
        catch (PostgresException) { }
    }

    /// <summary>A marked, counted command; <paramref name="ids"/>, if given, is its bigint[] parameter $1.</summary>
    public NpgsqlCommand Command(string sql, long[]? ids = null)
    {
        Queries++;
        var command = _dataSource.CreateCommand(Marker + sql);
        if (ids is not null) command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        return command;
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var command = Command(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
