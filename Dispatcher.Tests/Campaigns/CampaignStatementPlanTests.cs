using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Schema;
using Dispatcher.Testing;
using Dispatcher.Web.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dispatcher.Tests.Campaigns;

/// <summary>
/// The record of a call finds its contact by key however many calls are live. Its plan is cached
/// per connection as a generic plan, often from statistics taken before the campaign started; with
/// the contact's state in its look-up, that plan walked the partial index of every live call (an
/// index since dropped, migration 0008; any index by state would do the same).
/// </summary>
public sealed class CampaignStatementPlanTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const int LiveCalls = 3_000;

    [Fact]
    public async Task Recording_a_call_finds_its_contact_without_looking_through_the_live_calls()
    {
        await using var dataSource = NpgsqlDataSource.Create(await db.CreateExtraDatabaseAsync());
        await new DomainSchema(dataSource, [DomainScripts.Campaigns, DomainScripts.Onboarding, HostingSetup.Scripts], NullLogger<DomainSchema>.Instance)
            .UpgradeAsync(CancellationToken.None);
        // Statistics taken while nothing was live, then a campaign in full swing: the dialled contact is the last one.
        await ExecuteAsync(dataSource, $"""
            WITH a AS (INSERT INTO agencies (name, created_at, updated_at) VALUES ('Acme', now(), now()) RETURNING id),
                 b AS (INSERT INTO call_batches (agency_id, name, status, calls_per_minute, max_concurrent, created_at, updated_at)
                       SELECT id, 'Spring renewals', 'processing', 6000, 1000, now(), now() FROM a RETURNING id)
            INSERT INTO campaign_contacts (batch_id, phone_number, status_changed_at, created_at, updated_at)
            SELECT b.id, '+1415555' || lpad(n::text, 4, '0'), now(), now(), now() FROM b, generate_series(1, {LiveCalls + 1}) n
            """);
        await ExecuteAsync(dataSource, "ANALYZE");
        await ExecuteAsync(dataSource, $"UPDATE campaign_contacts SET status = CASE WHEN id <= {LiveCalls} THEN 'in_progress' ELSE 'dialing' END, attempts = 1");

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, "SET LOCAL plan_cache_mode = force_generic_plan");
        await ExecuteAsync(connection, $"PREPARE record_call (bigint, text, integer, timestamptz, timestamptz, timestamptz, text) AS {CampaignSql.Created}");
        await using var explain = new NpgsqlCommand($$"""
            EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
            EXECUTE record_call ({{LiveCalls + 1}}, 'call-1', 1, now(), now(), now(), '{}')
            """, connection);
        var plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!).RootElement[0].GetProperty("Plan");

        Assert.Equal(1, plan.GetProperty("Actual Rows").GetInt32()); // the call was recorded
        Assert.InRange(RowsLookedThrough(plan), 0, 10); // walking the live calls' index looked through 3,000
    }

    // Rows a plan read and threw away, over all its nodes.
    private static long RowsLookedThrough(JsonElement node) =>
        (node.TryGetProperty("Rows Removed by Filter", out var removed) ? removed.GetInt64() : 0)
        + (node.TryGetProperty("Plans", out var children) ? children.EnumerateArray().Sum(RowsLookedThrough) : 0);

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
