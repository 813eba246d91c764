using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;
using Dispatcher.Testing;
using Dispatcher.Tests.Queue;
using Dispatcher.Web.Dashboard;
using Dispatcher.Web.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>Who gets into the dashboard, what they may do, and that every action needs the page's antiforgery token; over HTTP.</summary>
public sealed partial class DashboardAccessTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly Dictionary<string, string> WithSignIn = new()
    {
        ["DASHBOARD_USERNAME"] = "ops",
        ["DASHBOARD_PASSWORD"] = "correct horse",
        ["DASHBOARD_READONLY_USERNAME"] = "viewer",
        ["DASHBOARD_READONLY_PASSWORD"] = "look only",
    };

    private static void FailOnceJobs(IServiceCollection services)
    {
        services.AddSingleton<RunLog>();
        services.AddJob<FailArgs, FailHandler>("fail-once", k => k.MaxAttempts = 1);
    }

    [Fact]
    public async Task By_default_only_local_requests_get_in_and_a_remote_one_without_credentials_gets_401()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString);
        using var client = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/dashboard")).StatusCode);

        // As a reverse proxy on this host forwards a remote client.
        using var remote = new HttpRequestMessage(HttpMethod.Get, "/dashboard/jobs");
        remote.Headers.Add("X-Forwarded-For", "203.0.113.7");
        var response = await client.SendAsync(remote);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("local requests only", await response.Content.ReadAsStringAsync());
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
    public async Task With_credentials_set_everyone_signs_in_by_HTTP_Basic_or_the_login_form()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, WithSignIn);
        using var anonymous = app.CreateClient();

        var refused = await anonymous.GetAsync("/dashboard/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("Basic", refused.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(anonymous, "/dashboard", Basic("ops", "wrong"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(anonymous, "/dashboard", Basic("ops", "correct horse"))).StatusCode);

        // A browser gets the login form (401 until signed in), posts it with its token, and keeps a cookie.
        var (browser, cookies) = Browser(app);
        using (browser)
        {
            var form = await GetHtmlAsync(browser, "/dashboard/jobs", HttpStatusCode.Unauthorized);
            var bad = await PostAsync(browser, "/dashboard/login", Token(form), ("username", "ops"), ("password", "nope"), ("return", "/jobs"));
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
            var signedIn = await PostAsync(browser, "/dashboard/login", Token(form), ("username", "ops"), ("password", "correct horse"), ("return", "/jobs"));
            Assert.Equal(HttpStatusCode.SeeOther, signedIn.StatusCode);
            Assert.Equal("/dashboard/jobs", signedIn.Headers.Location!.OriginalString);
            var page = await GetHtmlAsync(browser, "/dashboard/jobs", HttpStatusCode.OK);
            Assert.Contains("<h1>Jobs</h1>", page);
            Assert.Contains(cookies.GetCookies(new Uri(new Uri(app.BaseUrl), "/dashboard/jobs")), c => c.Name == "dispatcher_dashboard" && c.HttpOnly && c.Path == "/dashboard");
        }
    }

    [Fact]
    public async Task A_sign_in_holds_on_another_instance_and_after_a_restart_until_the_password_changes()
    {
        var database = await db.CreateExtraDatabaseAsync();
        var first = DispatcherApp.Start(database, WithSignIn);
        var (browser, cookies) = Browser(first);
        var form = await GetHtmlAsync(browser, "/dashboard/login", HttpStatusCode.OK);
        var signedIn = await PostAsync(browser, "/dashboard/login", Token(form), ("username", "ops"), ("password", "correct horse"), ("return", "/jobs"));
        Assert.Equal(HttpStatusCode.SeeOther, signedIn.StatusCode);
        var cookie = cookies.GetCookies(new Uri(new Uri(first.BaseUrl), "/dashboard/jobs")).Single(c => c.Name == DashboardAccess.CookieName).Value;
        browser.Dispose();
        await first.DisposeAsync(); // a redeploy: the first instance and its memory are gone

        await using var second = DispatcherApp.Start(database, WithSignIn);
        using var other = second.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/jobs");
        request.Headers.Add("Cookie", $"{DashboardAccess.CookieName}={cookie}");
        Assert.Equal(HttpStatusCode.OK, (await other.SendAsync(request)).StatusCode);
        // The key ring lives in the shared database, not on one machine's disk.
        await using var keys = second.Get<Npgsql.NpgsqlDataSource>().CreateCommand("SELECT count(*) FROM data_protection_keys");
        Assert.True((long)(await keys.ExecuteScalarAsync())! >= 1);

        await using var changed = DispatcherApp.Start(database, new Dictionary<string, string>(WithSignIn) { ["DASHBOARD_PASSWORD"] = "battery staple" });
        using var stale = new HttpRequestMessage(HttpMethod.Get, "/dashboard/jobs");
        stale.Headers.Add("Cookie", $"{DashboardAccess.CookieName}={cookie}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await changed.CreateClient().SendAsync(stale)).StatusCode);
    }

    [Fact]
    public async Task The_read_only_user_sees_everything_but_cannot_act()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), WithSignIn, services: FailOnceJobs);
        var job = await FailedJobAsync(app);
        var (browser, _) = Browser(app);
        using (browser)
        {
            var form = await GetHtmlAsync(browser, "/dashboard/login", HttpStatusCode.OK);
            await PostAsync(browser, "/dashboard/login", Token(form), ("username", "viewer"), ("password", "look only"), ("return", "/"));

            var page = await GetHtmlAsync(browser, $"/dashboard/jobs/{job}", HttpStatusCode.OK);
            Assert.Contains("boom on attempt 1", page);
            Assert.Contains("viewer (read-only)", page);
            Assert.DoesNotContain("Retry now", page);

            var retry = await PostAsync(browser, "/dashboard/jobs/action", Token(form), ("action", "retry"), ("ids", job.ToString()), ("return", "/jobs"));
            Assert.Equal(HttpStatusCode.Forbidden, retry.StatusCode);
            Assert.Equal(JobState.Discarded, (await app.Get<JobMonitor>().GetAsync(job))!.Job.State);
        }
    }

    [Fact]
    public async Task An_action_posted_without_the_pages_antiforgery_token_is_refused_and_changes_nothing()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: FailOnceJobs);
        var job = await FailedJobAsync(app);
        var (browser, _) = Browser(app);
        using (browser)
        {
            var forged = await PostAsync(browser, "/dashboard/jobs/action", token: null, ("action", "delete"), ("confirm", "yes"), ("ids", job.ToString()));
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
            var page = await GetHtmlAsync(browser, "/dashboard/jobs?state=failed", HttpStatusCode.OK);
            var wrong = await PostAsync(browser, "/dashboard/jobs/action", Token(page) + "x", ("action", "retry"), ("ids", job.ToString()));
            Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
            Assert.Equal(JobState.Discarded, (await app.Get<JobMonitor>().GetAsync(job))!.Job.State);

            // The same request with the page's token goes through: delete asks first, then deletes.
            var ask = await PostAsync(browser, "/dashboard/jobs/action", Token(page), ("action", "delete"), ("ids", job.ToString()), ("return", "/jobs?state=failed"));
            Assert.Equal(HttpStatusCode.OK, ask.StatusCode);
            Assert.Contains("Delete 1 job?", await ask.Content.ReadAsStringAsync());
            Assert.NotNull(await app.Get<JobMonitor>().GetAsync(job));
            var delete = await PostAsync(browser, "/dashboard/jobs/action", Token(page), ("action", "delete"), ("confirm", "yes"), ("ids", job.ToString()),
                ("return", "/jobs?state=failed"));
            Assert.Equal(HttpStatusCode.SeeOther, delete.StatusCode);
            var back = delete.Headers.Location!.OriginalString;
            Assert.StartsWith("/dashboard/jobs?state=failed&notice=", back);
            Assert.Contains("Deleted 1 job.", await GetHtmlAsync(browser, back, HttpStatusCode.OK));
            Assert.Null(await app.Get<JobMonitor>().GetAsync(job));
        }
    }

    [Fact]
    public async Task A_notice_only_shows_when_the_dashboard_itself_wrote_it()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString);
        var (browser, _) = Browser(app);
        using (browser)
        {
            var html = await GetHtmlAsync(browser, "/dashboard/jobs?notice=" + Uri.EscapeDataString("Session expired: sign in at evil.example"), HttpStatusCode.OK);
            Assert.DoesNotContain("evil.example", html);
            Assert.DoesNotContain("class=\"notice\"", html);
        }
    }

    [Fact]
    public async Task Behind_a_proxy_with_a_path_prefix_and_a_configured_path_every_link_and_asset_stays_under_the_prefix()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["DASHBOARD_PATH"] = "/admin/queue" });
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/dashboard")).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/queue/jobs");
        request.Headers.Add("X-Forwarded-Prefix", "/ops");
        var html = await (await client.SendAsync(request)).Content.ReadAsStringAsync();

        var links = HrefOrSrc().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(links);
        Assert.All(links, link => Assert.StartsWith("/ops/admin/queue", link));
        var css = links.Single(l => l.Contains("dashboard.css"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(css["/ops".Length..])).StatusCode);
    }

    [Fact]
    public async Task Job_arguments_show_secrets_redacted_and_phone_numbers_masked_to_their_last_4_digits()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), services: s =>
        {
            s.AddSingleton<RunLog>();
            s.AddJob<CallArgs, CallHandler>("call-someone", k => k.Queue = "held"); // no worker serves "held": it stays available
        });
        var job = await app.Get<JobClient>().EnqueueAsync(new CallArgs("+14155550123", "sk_live_abcdef", "Bearer eyJhbGciOi", new Dictionary<string, string> { ["password"] = "hunter2", ["city"] = "Berlin" }));
        using var client = app.CreateClient();

        var html = await client.GetStringAsync($"/dashboard/jobs/{job.JobId}");

        Assert.Contains("****0123", html);
        Assert.Contains("Berlin", html);
        foreach (var secret in new[] { "4155550123", "sk_live_abcdef", "eyJhbGciOi", "hunter2" }) Assert.DoesNotContain(secret, html);
    }

    [Fact]
    public async Task Every_page_says_whether_telephony_is_simulated_or_live()
    {
        await using (var simulated = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["TELEPHONY_MODE"] = "simulated" }))
        {
            var html = await simulated.CreateClient().GetStringAsync("/dashboard/workers");
            Assert.Contains("data-telephony-mode=\"simulated\"", html);
            Assert.Contains("no real calls are placed", html);
        }

        await using var live = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["TELEPHONY_MODE"] = "live", ["ULTRAVOX_WEBHOOK_SECRETS"] = "whsec" });
        Assert.Contains("data-telephony-mode=\"live\"", await live.CreateClient().GetStringAsync("/dashboard/batches"));
    }

    public sealed record CallArgs(string Phone, string ApiKey, string Authorization, Dictionary<string, string> Extra);

    public sealed class CallHandler : IJobHandler<CallArgs>
    {
        public Task<JobResult> RunAsync(JobContext<CallArgs> job, CancellationToken ct) => Task.FromResult(JobResult.Completed);
    }

    private static async Task<long> FailedJobAsync(DispatcherApp app)
    {
        var job = await app.Get<JobClient>().EnqueueAsync(new FailArgs(1));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await app.Get<JobMonitor>().GetAsync(job.JobId))!.Job.State != JobState.Discarded)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the job did not fail");
            await Task.Delay(50);
        }
        return job.JobId;
    }

    /// <summary>A client that keeps cookies and does not follow redirects, as a browser's requests look.</summary>
    private static (HttpClient Client, CookieContainer Cookies) Browser(DispatcherApp app)
    {
        var cookies = new CookieContainer();
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = new Uri(app.BaseUrl) };
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        return (client, cookies);
    }

    private static async Task<string> GetHtmlAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        var response = await client.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string? token, params (string Name, string Value)[] fields)
    {
        var all = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        if (token is not null) all.Add(new("__csrf", token));
        return client.PostAsync(path, new FormUrlEncodedContent(all));
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, AuthenticationHeaderValue auth)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = auth;
        return client.SendAsync(request);
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static string Token(string html) => CsrfField().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value)
        : throw new InvalidOperationException("the page has no antiforgery field");

    [GeneratedRegex("""name="__csrf" value="([^"]+)""")]
    private static partial Regex CsrfField();

    [GeneratedRegex("""(?:href|src)="([^"#]+)""")]
    private static partial Regex HrefOrSrc();
}
