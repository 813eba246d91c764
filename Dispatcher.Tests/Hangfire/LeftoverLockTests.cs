using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using Npgsql;

namespace Dispatcher.Tests.Hangfire;

/// <summary>
/// Found by the fault drill: an instance killed while it held a Hangfire lock (or whose release a
/// database restart cut off) left the lock row behind, and with Hangfire.PostgreSql's 10-minute
/// default every start-up that registers the recurring job failed and its occurrences stopped.
/// </summary>
public sealed class LeftoverLockTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_campaign_tick_lock_left_by_a_killed_instance_neither_fails_the_next_start_nor_stops_the_tick_for_long()
    {
        var database = await db.CreateExtraDatabaseAsync();
        await DispatcherApp.Start(database).DisposeAsync(); // the schema and the recurring jobs, as an earlier start left them
        var leftAt = DateTime.UtcNow;
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "INSERT INTO hangfire.lock (resource, updatecount, acquired) VALUES ('hangfire:lock:recurring-job:campaign-tick', 0, timezone('UTC', now()))",
                connection);
            await command.ExecuteNonQueryAsync();
        }

        // Started while the lock is held: it registers the recurring jobs later instead of failing.
        await using var app = DispatcherApp.Start(database, new Dictionary<string, string>
        {
            ["CAMPAIGN_TICK_CRON"] = "* * * * * *",
            ["HANGFIRE_SCHEDULE_POLL_SECONDS"] = "1",
        });

        // The leftover expires after 30 s, and the tick runs again.
        await Eventually.That(async () => await TicksSinceAsync(database, leftAt) > 0, "a campaign tick after the leftover lock", TimeSpan.FromSeconds(60));
    }

    private static async Task<long> TicksSinceAsync(string database, DateTime since)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM hangfire.job WHERE invocationdata::text LIKE '%CampaignTick%' AND createdat > $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = DateTime.SpecifyKind(since, DateTimeKind.Unspecified) });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
