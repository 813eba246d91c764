using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue.Storage;

/// <summary>
/// Applies the engine's pending migrations at start-up (the domain's tables are DbUp's, in
/// Dispatcher.Jobs.Schema). An advisory lock makes instances that start together take turns, so
/// each migration is applied exactly once; each runs in its own transaction.
/// </summary>
public sealed class MigrationRunner(NpgsqlDataSource dataSource, QueueOptions options, ILogger<MigrationRunner> logger)
{
    /// <summary>Returns the migrations this call applied, as "source/version_name".</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct)
    {
        var schema = options.Schema;
        var applied = new List<string>();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await Execute(connection, "SELECT pg_advisory_lock(hashtext($1))", ct, $"{schema}.migrations");
        try
        {
            await Execute(connection, $"""
                CREATE SCHEMA IF NOT EXISTS {schema};
                CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                    source     text NOT NULL,
                    version    integer NOT NULL,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (source, version))
                """, ct);
            var done = new HashSet<(string, int)>();
            await using (var read = new NpgsqlCommand($"SELECT source, version FROM {schema}.schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct))
                    done.Add((reader.GetString(0), reader.GetInt32(1)));

            var set = MigrationSet.Engine;
            foreach (var migration in set.Migrations.Where(m => !done.Contains((set.Source, m.Version))))
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                await Execute(connection, migration.Sql.Replace("{schema}", schema), ct);
                await Execute(connection, $"INSERT INTO {schema}.schema_migrations (source, version, name) VALUES ($1, $2, $3)", ct,
                    set.Source, migration.Version, migration.Name);
                await tx.CommitAsync(ct);
                var label = $"{set.Source}/{migration.Version:D4}_{migration.Name}";
                logger.LogInformation("Applied migration {Migration}", label);
                applied.Add(label);
            }
        }
        finally
        {
            await Execute(connection, "SELECT pg_advisory_unlock(hashtext($1))", CancellationToken.None, $"{schema}.migrations");
        }
        return applied;
    }

    /// <summary>Migrations this code knows that the database has not applied, as "source/version"; for readiness checks.</summary>
    public async Task<IReadOnlyList<string>> PendingAsync(CancellationToken ct)
    {
        var done = new HashSet<(string, int)>();
        await using (var read = dataSource.CreateCommand($"SELECT source, version FROM {options.Schema}.schema_migrations"))
        {
            try
            {
                await using var reader = await read.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct)) done.Add((reader.GetString(0), reader.GetInt32(1)));
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable) { }
        }
        var set = MigrationSet.Engine;
        return set.Migrations.Where(m => !done.Contains((set.Source, m.Version))).Select(m => $"{set.Source}/{m.Version:D4}_{m.Name}").ToList();
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        await command.ExecuteNonQueryAsync(ct);
    }
}
