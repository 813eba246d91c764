using DbUp;
using DbUp.Builder;
using DbUp.Engine;
using DbUp.Postgresql;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Schema;

/// <summary>
/// The domain tables (public schema), migrated by DbUp and journaled in public.schema_versions.
/// Instances that start together take turns under a session advisory lock, so each script is applied
/// exactly once; each script runs in its own transaction. Script sets run in the order given, each by number.
/// </summary>
public sealed class DomainSchema(NpgsqlDataSource dataSource, IReadOnlyList<DomainScripts> sets, ILogger<DomainSchema> logger)
{
    public const string JournalSchema = "public";
    public const string JournalTable = "schema_versions";

    // Where Dispatcher.Queue's runner recorded every set, the domain's included, before DbUp took them over.
    private const string LegacyJournal = "dispatcher.schema_migrations";
    private const string LockKey = "dispatcher.domain-schema";

    /// <summary>Applies the scripts not applied yet; returns their names.</summary>
    public async Task<IReadOnlyList<string>> UpgradeAsync(CancellationToken ct)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(ct);
        await ExecuteAsync(lockConnection, "SELECT pg_advisory_lock(hashtext($1))", ct, LockKey);
        try
        {
            await AdoptLegacyJournalAsync(lockConnection, ct);
            // DbUp's API is synchronous; off the caller's thread so that start-up stays responsive to cancellation.
            var result = await Task.Run(() => Upgrader(logged: true).PerformUpgrade(), ct);
            if (!result.Successful)
                throw new InvalidOperationException($"domain schema script {result.ErrorScript?.Name} failed: {result.Error?.Message}", result.Error);
            return result.Scripts.Select(s => s.Name).ToList();
        }
        finally
        {
            await ExecuteAsync(lockConnection, "SELECT pg_advisory_unlock(hashtext($1))", CancellationToken.None, LockKey);
        }
    }

    /// <summary>Names of the scripts this code knows that the database has not applied; for readiness.</summary>
    public Task<IReadOnlyList<string>> PendingAsync(CancellationToken ct) =>
        Task.Run<IReadOnlyList<string>>(() => Upgrader(logged: false).GetScriptsToExecute().Select(s => s.Name).ToList(), ct);

    /// <summary>
    /// Once, on a database the old runner migrated (journal not created yet): the scripts it recorded
    /// are journaled as applied instead of running again.
    /// </summary>
    private async Task AdoptLegacyJournalAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using (var check = new NpgsqlCommand("SELECT to_regclass($1) IS NULL AND to_regclass($2) IS NOT NULL", connection))
        {
            check.Parameters.Add(new NpgsqlParameter { Value = $"{JournalSchema}.{JournalTable}" });
            check.Parameters.Add(new NpgsqlParameter { Value = LegacyJournal });
            if (!(bool)(await check.ExecuteScalarAsync(ct))!) return;
        }
        var recorded = new HashSet<(string Source, int Version)>();
        await using (var read = new NpgsqlCommand($"SELECT source, version FROM {LegacyJournal}", connection))
        await using (var reader = await read.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                recorded.Add((reader.GetString(0), reader.GetInt32(1)));

        var adopted = Upgrader(logged: false).GetDiscoveredScripts().Where(WasRecorded).ToList();
        if (adopted.Count == 0) return;
        await Task.Run(() => Builder(logged: false).WithScripts(adopted).Build().MarkAsExecuted(), ct);
        logger.LogInformation("Adopted {Count} domain scripts already applied by the old migration runner: {Scripts}",
            adopted.Count, string.Join(", ", adopted.Select(s => s.Name)));

        bool WasRecorded(SqlScript script)
        {
            var set = sets.First(s => s.Contains(script.Name));
            return recorded.Contains((set.LegacySource, set.LegacyVersionOf(script.Name)));
        }
    }

    private UpgradeEngine Upgrader(bool logged)
    {
        var builder = Builder(logged);
        for (var i = 0; i < sets.Count; i++)
        {
            var set = sets[i];
            builder.WithScriptsEmbeddedInAssembly(set.Assembly, set.Contains, new SqlScriptOptions { RunGroupOrder = i + 1 });
        }
        return builder.Build();
    }

    private UpgradeEngineBuilder Builder(bool logged)
    {
        var builder = DeployChanges.To.PostgresqlDatabase(new PostgresqlConnectionManager(dataSource))
            .JournalToPostgresqlTable(JournalSchema, JournalTable)
            .WithTransactionPerScript()
            // Scripts are plain SQL: PL/pgSQL bodies use $...$ quoting, never DbUp variables.
            .WithVariablesDisabled();
        return logged ? builder.LogTo(logger) : builder.LogToNowhere();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        await command.ExecuteNonQueryAsync(ct);
    }
}
