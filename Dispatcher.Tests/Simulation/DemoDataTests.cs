using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using Dispatcher.Web.Demo;
using Npgsql;

namespace Dispatcher.Tests.Simulation;

/// <summary>DEMO_DATA=true gives a new user calls flowing within seconds, through the real domain operations.</summary>
public sealed class DemoDataTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static DispatcherApp Start(string databaseUrl)
    {
        var port = DispatcherApp.FreePort();
        return DispatcherApp.Start(databaseUrl, new Dictionary<string, string>
        {
            ["TELEPHONY_MODE"] = "simulated",
            ["DEMO_DATA"] = "true",
            ["PORT"] = port.ToString(),
            ["SIMULATOR_ANSWER_SECONDS"] = "0.2-0.5",
            ["SIMULATOR_CALL_SECONDS"] = "0.5-1",
        }, port);
    }

    private static async Task<long> CountAsync(DispatcherApp app, string sql)
    {
        await using var command = app.Get<NpgsqlDataSource>().CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static Task WaitForAsync(DispatcherApp app, string what, string sql) =>
        Eventually.That(async () => await CountAsync(app, sql) > 0, $"a {what}", TimeSpan.FromSeconds(45), every: TimeSpan.FromMilliseconds(200));

    [Fact]
    public async Task An_empty_database_gets_an_agency_batches_of_several_paces_and_a_stream_of_signups_with_calls_ending_within_seconds()
    {
        var databaseUrl = await db.CreateExtraDatabaseAsync();
        await using (var app = Start(databaseUrl))
        {
            await WaitForAsync(app, "completed campaign call", "SELECT count(*) FROM campaign_contacts WHERE status = 'completed'");
            await WaitForAsync(app, "signup", "SELECT count(*) FROM outbound_call_jobs");
            await WaitForAsync(app, "finished onboarding call", "SELECT count(*) FROM outbound_call_jobs WHERE status IN ('completed', 'failed') OR attempts > 1");

            Assert.Equal(1, await CountAsync(app, "SELECT count(*) FROM agencies"));
            Assert.Equal(DemoData.SeedBatches.Count, await CountAsync(app, "SELECT count(*) FROM call_batches"));
            Assert.Equal(DemoData.SeedBatches.Select(b => b.CallsPerMinute).Distinct().Count(),
                await CountAsync(app, "SELECT count(DISTINCT calls_per_minute) FROM call_batches"));
            Assert.Equal(1, await CountAsync(app, "SELECT count(*) FROM call_batches WHERE status = 'scheduled'"));
        }

        // Started again on the same database: nothing is seeded twice.
        await using (var again = Start(databaseUrl))
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(1, await CountAsync(again, "SELECT count(*) FROM agencies"));
            Assert.Equal(DemoData.SeedBatches.Count, await CountAsync(again, "SELECT count(*) FROM call_batches"));
        }
    }
}
