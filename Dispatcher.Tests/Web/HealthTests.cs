using System.Net;
using Dispatcher.Testing;

namespace Dispatcher.Tests.Web;

public sealed class HealthTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task The_service_is_live_and_ready_once_the_engine_runs_on_its_database()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString);
        using var client = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        // Ready once this instance's Hangfire servers have announced themselves, a moment after start.
        await Eventually.That(async () => (await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, "ready");
        Assert.Equal("ready", await client.GetStringAsync("/readyz"));
    }
}
