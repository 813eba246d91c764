using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Web.Dashboard;
using Dispatcher.Web.Hosting;
using Microsoft.AspNetCore.Http;
using static Dispatcher.Tests.Web.Dashboard.DashboardHttp;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>Who gets into Hangfire's dashboard and our pages in it, what they may do, and that every action needs the page's antiforgery token; over HTTP.</summary>
public sealed partial class DashboardAccessTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task By_default_only_local_requests_get_in_and_a_remote_one_without_credentials_gets_401()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString);
        using var client = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/hangfire/batches")).StatusCode);

        // As a reverse proxy on this host forwards a remote client.
        foreach (var path in new[] { "/hangfire", "/hangfire/jobs/failed", "/hangfire/batches", "/hangfire/dispatcher/live" })
        {
            using var remote = new HttpRequestMessage(HttpMethod.Get, path);
            remote.Headers.Add("X-Forwarded-For", "203.0.113.7");
            var response = await client.SendAsync(remote);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("local requests only", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public void A_remote_peer_forwarding_a_loopback_client_address_is_not_local()
    {
        // What UseForwardedHeaders leaves behind when a client on the internet sends "X-Forwarded-For: 127.0.0.1" itself.
        var spoofed = new DefaultHttpContext();
        spoofed.Features.Set(new ConnectionPeer(IPAddress.Parse("203.0.113.7")));
        spoofed.Connection.RemoteIpAddress = IPAddress.Loopback;
        spoofed.Connection.LocalIpAddress = IPAddress.Parse("10.0.0.5");

        var proxiedLocal = new DefaultHttpContext();
        proxiedLocal.Features.Set(new ConnectionPeer(IPAddress.Loopback));
        proxiedLocal.Connection.RemoteIpAddress = IPAddress.Loopback;
        proxiedLocal.Connection.LocalIpAddress = IPAddress.Loopback;

        Assert.False(ConnectionPeer.IsLocal(spoofed));
        Assert.True(ConnectionPeer.IsLocal(proxiedLocal));
    }

    [Fact]
    public async Task With_credentials_set_scripts_sign_in_by_HTTP_Basic_and_are_challenged_without()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, WithSignIn);
        using var anonymous = app.CreateClient();

        var refused = await anonymous.GetAsync("/hangfire/jobs/failed");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("Basic", refused.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(anonymous, "/hangfire", Basic("ops", "wrong"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(anonymous, "/hangfire", Basic("ops", "correct horse"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(anonymous, "/hangfire/batches", Basic("viewer", "look only"))).StatusCode);
    }

    [Fact]
    public async Task With_credentials_set_a_browser_gets_the_sign_in_form_and_its_cookie_opens_Hangfires_pages_and_ours()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, WithSignIn);
        var (browser, cookies) = Browser(app);
        using (browser)
        {
            var form = await GetHtmlAsync(browser, "/hangfire/jobs/failed", HttpStatusCode.Unauthorized);
            Assert.Contains("<form method=\"post\" action=\"/hangfire/login\"", form);
            Assert.DoesNotContain("Failed Jobs", form); // nothing of the dashboard before signing in
            var bad = await PostAsync(browser, "/hangfire/login", Token(form), ("username", "ops"), ("password", "nope"), ("return", "/jobs/failed"));
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
            var signedIn = await PostAsync(browser, "/hangfire/login", Token(form), ("username", "ops"), ("password", "correct horse"), ("return", "/jobs/failed"));
            Assert.Equal(HttpStatusCode.SeeOther, signedIn.StatusCode);
            Assert.Equal("/hangfire/jobs/failed", signedIn.Headers.Location!.OriginalString);
            Assert.Contains("Failed Jobs", await GetHtmlAsync(browser, "/hangfire/jobs/failed", HttpStatusCode.OK));
            Assert.Contains("<h1 id=\"page-title\" class=\"page-header\">Batches</h1>", await GetHtmlAsync(browser, "/hangfire/batches", HttpStatusCode.OK));
            Assert.Contains(cookies.GetCookies(new Uri(new Uri(app.BaseUrl), "/hangfire/jobs")), c => c.Name == DashboardAccess.CookieName && c.HttpOnly && c.Path == "/hangfire");
        }
    }

    [Fact]
    public async Task A_sign_in_form_sends_nobody_to_another_site_afterwards()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, WithSignIn);
        var (browser, _) = Browser(app);
        using (browser)
        {
            var form = await GetHtmlAsync(browser, "/hangfire/login", HttpStatusCode.OK);
            var signedIn = await PostAsync(browser, "/hangfire/login", Token(form), ("username", "ops"), ("password", "correct horse"), ("return", "//evil.example/x"));
            Assert.Equal("/hangfire/", signedIn.Headers.Location!.OriginalString);
        }
    }

    [Fact]
    public async Task The_read_only_user_sees_a_batch_without_buttons_and_every_action_is_refused_and_changes_nothing()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: WithSignIn);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 1, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddDays(1));
        var (browser, _) = Browser(harness.App);
        using (browser)
        {
            var form = await GetHtmlAsync(browser, "/hangfire/login", HttpStatusCode.OK);
            await PostAsync(browser, "/hangfire/login", Token(form), ("username", "viewer"), ("password", "look only"), ("return", "/"));

            var page = await GetHtmlAsync(browser, $"/hangfire/batches/{batchId}", HttpStatusCode.OK);
            Assert.Contains("Spring campaign", page);
            Assert.DoesNotContain("<form method=\"post\"", page);
            Assert.DoesNotContain("Cancel…", page);

            foreach (var action in new[] { "pause", "cancel", "retry-failed" })
            {
                var refused = await PostAsync(browser, $"/hangfire/batches/{batchId}/{action}", Token(form), ("confirm", "yes"));
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            }
            Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(browser, "/hangfire/jobs/failed/requeue", Token(form), ("jobs[]", "1"))).StatusCode);
        }
        var batch = (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!;
        Assert.Equal("scheduled", batch.Status);
        Assert.Equal(0, batch.Cancelled);
    }

    [Fact]
    public async Task An_action_posted_without_the_pages_antiforgery_token_is_refused_and_changes_nothing()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 1, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddDays(1));
        var (browser, _) = Browser(harness.App);
        using (browser)
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(browser, $"/hangfire/batches/{batchId}/pause", token: null)).StatusCode);
            var page = await GetHtmlAsync(browser, $"/hangfire/batches/{batchId}", HttpStatusCode.OK);
            Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(browser, $"/hangfire/batches/{batchId}/pause", Token(page) + "x")).StatusCode);
            Assert.Equal("scheduled", (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!.Status);

            // The same request with the page's token goes through, and lands back on the batch's page.
            var paused = await PostAsync(browser, $"/hangfire/batches/{batchId}/pause", Token(page));
            Assert.Equal(HttpStatusCode.SeeOther, paused.StatusCode);
            Assert.Equal($"/hangfire/batches/{batchId}?done=paused", paused.Headers.Location!.OriginalString);
            Assert.Contains("Paused: no new dials", await GetHtmlAsync(browser, paused.Headers.Location.OriginalString, HttpStatusCode.OK));
            Assert.Equal("paused", (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!.Status);
        }
    }

    [Fact]
    public async Task Cancel_asks_first_and_a_cancel_posted_without_the_answer_changes_nothing()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(3), callsPerMinute: 1, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddDays(1));
        var (browser, _) = Browser(harness.App);
        using (browser)
        {
            var page = await GetHtmlAsync(browser, $"/hangfire/batches/{batchId}", HttpStatusCode.OK);
            Assert.Contains($"href=\"/hangfire/batches/{batchId}/cancel/confirm\"", page);
            var question = await GetHtmlAsync(browser, $"/hangfire/batches/{batchId}/cancel/confirm", HttpStatusCode.OK);
            Assert.Contains("3 contact(s) waiting for a call will not be called", question);

            var unanswered = await PostAsync(browser, $"/hangfire/batches/{batchId}/cancel", Token(page));
            Assert.Equal($"/hangfire/batches/{batchId}/cancel/confirm", unanswered.Headers.Location!.OriginalString);
            Assert.Equal("scheduled", (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!.Status);

            var cancelled = await PostAsync(browser, $"/hangfire/batches/{batchId}/cancel", Token(question), ("confirm", "yes"));
            Assert.Equal($"/hangfire/batches/{batchId}?done=cancelled", cancelled.Headers.Location!.OriginalString);
            Assert.Equal("cancelled", (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!.Status);
        }
    }

    [Fact]
    public async Task Behind_a_proxy_with_a_path_prefix_and_a_configured_path_every_link_and_asset_stays_under_the_prefix()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["DASHBOARD_PATH"] = "/admin/queue" });
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/hangfire")).StatusCode);

        foreach (var page in new[] { "/admin/queue", "/admin/queue/jobs/failed", "/admin/queue/batches", "/admin/queue/onboarding" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, page);
            request.Headers.Add("X-Forwarded-Prefix", "/ops");
            var html = await (await client.SendAsync(request)).Content.ReadAsStringAsync();

            var links = HrefOrSrc().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).Where(l => !l.StartsWith("https://www.hangfire.io")).ToList();
            Assert.NotEmpty(links);
            Assert.All(links, link => Assert.True(link.StartsWith("/ops/") || link.StartsWith("data:") || link.StartsWith("?"), $"{page}: {link}"));
            Assert.Contains("/ops/", links); // "Back to site": the service's root, under the prefix
            Assert.Contains("data-pollurl=\"/ops/admin/queue/stats\"", html); // dispatcher.js builds its URLs from it
            foreach (var asset in links.Where(l => Regex.IsMatch(l, @"/(css|js)\d+")))
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(asset["/ops".Length..])).StatusCode);
        }
    }

    [Fact]
    public async Task Our_script_and_stylesheet_are_in_Hangfires_bundles()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString);
        using var client = app.CreateClient();
        var html = await client.GetStringAsync("/hangfire");
        var links = HrefOrSrc().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToList();

        Assert.Contains("dispatcher:active-batches", await client.GetStringAsync(links.Single(l => Regex.IsMatch(l, @"/js\d+"))));
        Assert.Contains(".dispatcher-progress", await client.GetStringAsync(links.Single(l => Regex.IsMatch(l, @"/css\d+"))));
    }

    [Fact]
    public async Task Phone_numbers_are_masked_to_their_last_4_digits_unless_told_to_show_them()
    {
        var database = await db.CreateExtraDatabaseAsync();
        await using (var harness = await CampaignHarness.StartAsync(database))
        {
            var batchId = await harness.CreateBatchAsync([new NewContact("+14155550123", "Ada")], callsPerMinute: 1, maxConcurrent: 1, scheduledFor: DateTimeOffset.UtcNow.AddDays(1));
            var html = await harness.App.CreateClient().GetStringAsync($"/hangfire/batches/{batchId}");
            Assert.Contains("****0123", html);
            Assert.DoesNotContain("4155550123", html);
        }
        await using var shown = DispatcherApp.Start(database, new Dictionary<string, string> { ["DASHBOARD_SHOW_PHONE_NUMBERS"] = "true" });
        Assert.Contains("+14155550123", await shown.CreateClient().GetStringAsync("/hangfire/batches/1"));
    }

    [Fact]
    public async Task Every_page_says_when_telephony_is_simulated_and_no_page_shows_the_database()
    {
        await using (var simulated = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["TELEPHONY_MODE"] = "simulated" }))
        {
            using var client = simulated.CreateClient();
            Assert.Contains("no real calls are placed", await client.GetStringAsync("/hangfire/batches"));
            Assert.Contains("no real calls are placed", await client.GetStringAsync("/hangfire/dispatcher/banner")); // dispatcher.js shows it on Hangfire's pages
            var home = await client.GetStringAsync("/hangfire");
            Assert.DoesNotContain("Host=", home);
            Assert.DoesNotContain("PostgreSqlStorage", home);
        }

        await using var live = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["TELEPHONY_MODE"] = "live", ["ULTRAVOX_WEBHOOK_SECRETS"] = "whsec" });
        Assert.Equal("", await live.CreateClient().GetStringAsync("/hangfire/dispatcher/banner"));
        Assert.DoesNotContain("no real calls are placed", await live.CreateClient().GetStringAsync("/hangfire/batches"));
    }

    [GeneratedRegex("""(?:href|src)="([^"#]+)""")]
    private static partial Regex HrefOrSrc();
}
