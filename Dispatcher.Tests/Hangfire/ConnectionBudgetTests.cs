using Dispatcher.Testing;
using Dispatcher.Tests.Onboarding;
using Npgsql;

namespace Dispatcher.Tests.Hangfire;

/// <summary>An instance holds no more of the database's connections than its settings give Hangfire's storages.</summary>
public sealed class ConnectionBudgetTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Hangfire_holds_no_more_connections_than_its_settings_while_a_burst_of_signups_is_called()
    {
        var url = await db.CreateExtraDatabaseAsync();
        await using var harness = await OnboardingHarness.StartAsync(url, new()
        {
            ["HANGFIRE_MAIN_CONNECTIONS"] = "2",
            ["HANGFIRE_CAMPAIGN_CONNECTIONS"] = "2",
        });
        await using var watcher = NpgsqlDataSource.Create(url);
        var most = new Dictionary<string, long>();
        using var done = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await using var command = watcher.CreateCommand("""
                    SELECT application_name, count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND application_name LIKE 'dispatcher-hangfire%' GROUP BY 1
                    """);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    most[reader.GetString(0)] = Math.Max(most.GetValueOrDefault(reader.GetString(0)), reader.GetInt64(1));
                await Task.Delay(10);
            }
        });

        var signups = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            harness.SignUpAsync($"budget-user-{i}", $"+1415555{i:D4}")));
        foreach (var signup in signups) await harness.WaitForAsync(signup.JobId, "completed");
        await done.CancelAsync();
        await sampling;

        Assert.InRange(most.GetValueOrDefault("dispatcher-hangfire"), 1, 2);
        Assert.InRange(most.GetValueOrDefault("dispatcher-hangfire-campaigns"), 1, 2);
        Assert.Equal(40, harness.Fake.CreateRequests.Count);
    }
}
