using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using Hangfire;

namespace Dispatcher.Tests.Hangfire;

/// <summary>Hangfire runs inside the service on its PostgreSQL, and its dashboard keeps the service's access rules.</summary>
public sealed class HangfireHostingTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Each_instance_runs_a_campaigns_server_and_a_main_server_on_the_hangfire_schema()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString);
        var monitoring = app.Get<JobStorage>().GetMonitoringApi();

        await Eventually.That(() => monitoring.Servers().Count == 2, "both Hangfire servers announced");
        var servers = monitoring.Servers();
        Assert.Contains(servers, s => s.Queues.SequenceEqual(["campaigns"]));
        Assert.Contains(servers, s => s.Queues.Contains("onboarding") && s.Queues.Contains("default"));

        await using var command = db.DataSource.CreateCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'hangfire' AND table_name = 'job'");
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task The_dashboard_lets_local_requests_in_and_refuses_a_forwarded_remote_client()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString);
        using var client = app.CreateClient();

        var home = await client.GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        var html = await home.Content.ReadAsStringAsync();
        Assert.Contains("Dispatcher", html);
        Assert.DoesNotContain("Host=", html); // no storage connection details in the footer

        using var remote = new HttpRequestMessage(HttpMethod.Get, "/hangfire");
        remote.Headers.Add("X-Forwarded-For", "203.0.113.7");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(remote)).StatusCode);
    }

    [Fact]
    public async Task With_credentials_set_the_dashboard_asks_for_them_and_a_read_only_user_cannot_act()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string>
        {
            ["DASHBOARD_USERNAME"] = "ops",
            ["DASHBOARD_PASSWORD"] = "correct horse",
            ["DASHBOARD_READONLY_USERNAME"] = "viewer",
            ["DASHBOARD_READONLY_PASSWORD"] = "look only",
        });
        using var client = app.CreateClient();

        var refused = await client.GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("Basic", refused.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Get("/hangfire", "ops", "correct horse"))).StatusCode);

        // Read-only: Hangfire hides its buttons and refuses its actions.
        var recurring = await client.SendAsync(Get("/hangfire/recurring", "viewer", "look only"));
        Assert.Equal(HttpStatusCode.OK, recurring.StatusCode);
        using var trigger = new HttpRequestMessage(HttpMethod.Post, "/hangfire/recurring/trigger")
        {
            Content = new FormUrlEncodedContent([new("jobs[]", "campaign-tick")]),
        };
        trigger.Headers.Authorization = Basic("viewer", "look only");
        Assert.Contains((await client.SendAsync(trigger)).StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
    }

    private static HttpRequestMessage Get(string path, string user, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = Basic(user, password);
        return request;
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
}
