using Dispatcher.Web.Configuration;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Queue;
using Dispatcher.Queue.Monitoring;
using Dispatcher.Queue.Recurring;
using Dispatcher.Web.Dashboard.Pages;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// The dashboard: server-rendered pages (Razor components, no interactivity) under
/// DASHBOARD_PATH, every action a POST checked by ASP.NET Core antiforgery, links built from
/// the request's PathBase so it works behind a reverse proxy and a path prefix.
/// </summary>
public static partial class DashboardEndpoints
{
    private const string UserKey = "dispatcher.dashboard.user";
    private const int PageSize = 20;
    /// <summary>Sent by dashboard.js with its refresh requests.</summary>
    private const string LiveHeader = "X-Dashboard-Live";
    /// <summary>Jobs a filtered list page looks at, at most: a rare match costs a bounded walk, not the whole table.</summary>
    private const int SearchWindow = 25_000;

    public static IServiceCollection AddDashboard(this IServiceCollection services, DashboardOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<DashboardAccess>();
        services.AddSingleton(new Redaction(options.ShowPhoneNumbers));
        services.AddRazorComponents();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "dispatcher_dashboard_csrf";
            o.FormFieldName = "__csrf";
        });
        return services;
    }

    public static void MapDashboard(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<DashboardOptions>();
        // Client address, scheme and path prefix behind a proxy come from the service-wide forwarded
        // headers (Hosting, FORWARDED_HEADERS); links are built from the request's path base.
        var open = app.MapGroup(options.Path).ExcludeFromDescription();
        open.MapGet("/assets/{name}", Asset);
        open.MapGet("/login", LoginPage);
        open.MapPost("/login", SignIn);
        open.MapPost("/logout", SignOut);

        var pages = app.MapGroup(options.Path).ExcludeFromDescription().AddEndpointFilter(RequireUser);
        pages.MapGet("/", Overview);
        pages.MapGet("/graph", Graph);
        pages.MapGet("/live", Live);
        pages.MapGet("/jobs", Jobs);
        pages.MapGet("/jobs/{id:long}", Job);
        pages.MapGet("/recurring", Recurring);
        pages.MapGet("/workers", Workers);
        pages.MapGet("/batches", BatchList);
        pages.MapGet("/batches/{id:long}", Batch);
        pages.MapGet("/onboarding", Onboarding);

        var actions = app.MapGroup(options.Path).ExcludeFromDescription().AddEndpointFilter(RequireUser).AddEndpointFilter(RequireActor);
        actions.MapPost("/jobs/action", JobAction);
        actions.MapPost("/recurring/{name}/{action}", RecurringAction);
        actions.MapPost("/batches/{id:long}/{action}", BatchAction);
        actions.MapPost("/onboarding/retry", OnboardingRetry);
    }

    // ---- access ----

    private static async ValueTask<object?> RequireUser(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var options = context.RequestServices.GetRequiredService<DashboardOptions>();
        var user = context.RequestServices.GetRequiredService<DashboardAccess>().Authenticate(context);
        context.Response.Headers.CacheControl = "no-store";
        SecurityHeaders(context);
        if (user is not null)
        {
            context.Items[UserKey] = user;
            return await next(invocation);
        }
        if (!options.RequiresSignIn)
            return Results.Text("The dashboard accepts local requests only. Set DASHBOARD_USERNAME and DASHBOARD_PASSWORD to open it to others.\n",
                statusCode: StatusCodes.Status401Unauthorized);
        if (context.Request.Method == "GET" && context.Request.Headers.Accept.ToString().Contains("text/html"))
            return LoginResult(context, error: null, returnTo: ReturnPath(context), StatusCodes.Status401Unauthorized);
        // The page's own refresh gets a bare 401: a Basic challenge would pop up the browser's password dialog.
        if (!context.Request.Headers.ContainsKey(LiveHeader))
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Dispatcher dashboard\", charset=\"UTF-8\"";
        return Results.Text("Sign in: HTTP Basic or the dashboard's login form.\n", statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>Actions: a user who may act, and a valid antiforgery token in the form.</summary>
    private static async ValueTask<object?> RequireActor(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (context.Items[UserKey] is not DashboardUser { CanAct: true })
            return Results.Text("This sign-in is read-only.\n", statusCode: StatusCodes.Status403Forbidden);
        if (!await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context))
            return Results.Text("The form's anti-forgery token is missing or invalid; reload the page and try again.\n",
                statusCode: StatusCodes.Status400BadRequest);
        return await next(invocation);
    }

    private static void SecurityHeaders(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'";
        headers["Referrer-Policy"] = "same-origin";
    }

    private static DashboardView View(HttpContext context)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<DashboardOptions>();
        var user = context.Items[UserKey] as DashboardUser;
        var tokens = services.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context); // read-only users too: they sign out by POST
        return new DashboardView(context.Request.PathBase + options.Path, user, tokens, services.GetRequiredService<TelephonyMode>(),
            services.GetRequiredService<Redaction>(), services.GetRequiredService<TimeProvider>().GetUtcNow(),
            Notice(context), options.RequiresSignIn);
    }

    /// <summary>
    /// The outcome of the action just taken, as <see cref="Back"/> sealed it into the address: a link
    /// someone else made up ("?notice=Session expired, sign in at ...") shows nothing.
    /// </summary>
    private static string? Notice(HttpContext context)
    {
        if (context.Request.Query["notice"].ToString() is not { Length: > 0 and <= 2000 } sealedText) return null;
        try { return NoticeProtector(context).Unprotect(sealedText); }
        catch (System.Security.Cryptography.CryptographicException) { return null; }
    }

    private static ITimeLimitedDataProtector NoticeProtector(HttpContext context) =>
        context.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector("Dispatcher.Web.Dashboard.Notice").ToTimeLimitedDataProtector();

    private static string ReturnPath(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<DashboardOptions>();
        var path = context.Request.Path.Value ?? "";
        return SafeReturn(path.StartsWith(options.Path, StringComparison.Ordinal) ? path[options.Path.Length..] + context.Request.QueryString : "/");
    }

    /// <summary>A place inside the dashboard to go back to; anything else (other hosts, "//", schemes) becomes the overview.</summary>
    private static string SafeReturn(string? path) =>
        path is { Length: > 0 and < 2000 } && path[0] == '/' && !path.StartsWith("//") && !path.Contains('\\') && LocalReturn().IsMatch(path) ? path : "/";

    [GeneratedRegex(@"^/[A-Za-z0-9/_\-.]*(\?[A-Za-z0-9_\-.~%&=+:,]*)?$")]
    private static partial Regex LocalReturn();

    private static IResult Back(HttpContext context, string? returnTo, string notice)
    {
        var target = NoticeParameter().Replace(SafeReturn(returnTo), "");
        var separator = target.Contains('?') ? '&' : '?';
        var options = context.RequestServices.GetRequiredService<DashboardOptions>();
        var sealedNotice = NoticeProtector(context).Protect(notice, TimeSpan.FromMinutes(10));
        return new SeeOther($"{context.Request.PathBase}{options.Path}{target}{separator}notice={Uri.EscapeDataString(sealedNotice)}");
    }

    [GeneratedRegex(@"[?&]notice=[^&]*")]
    private static partial Regex NoticeParameter();

    /// <summary>303 after a POST, so reloading the page never repeats the action.</summary>
    private sealed class SeeOther(string location) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            context.Response.Headers.Location = location;
            return Task.CompletedTask;
        }
    }

    private static IResult Page<TPage>(object parameters, int status = 200) where TPage : Microsoft.AspNetCore.Components.IComponent =>
        new RazorComponentResult<TPage>(parameters) { StatusCode = status };

    private static IResult LoginResult(HttpContext context, string? error, string returnTo, int status) =>
        Page<Login>(new { View = View(context), Error = error, ReturnTo = returnTo }, status);

    private static IResult LoginPage(HttpContext context, string? @return)
    {
        SecurityHeaders(context);
        context.Response.Headers.CacheControl = "no-store";
        var options = context.RequestServices.GetRequiredService<DashboardOptions>();
        if (!options.RequiresSignIn) return Results.Redirect(context.Request.PathBase + options.Path);
        return LoginResult(context, null, SafeReturn(@return), 200);
    }

    private static async Task<IResult> SignIn(HttpContext context, IAntiforgery antiforgery, DashboardAccess access, DashboardOptions options)
    {
        SecurityHeaders(context);
        if (!await antiforgery.IsRequestValidAsync(context))
            return Results.Text("The form's anti-forgery token is missing or invalid; reload the page and try again.\n", statusCode: 400);
        var form = await context.Request.ReadFormAsync();
        var returnTo = SafeReturn(form["return"]);
        if (!options.RequiresSignIn) return Results.Redirect(context.Request.PathBase + options.Path);
        if (access.CheckPassword(form["username"].ToString(), form["password"].ToString()) is not { } user)
            return LoginResult(context, "Wrong user name or password.", returnTo, StatusCodes.Status401Unauthorized);
        access.SignIn(context, user, context.Request.PathBase + options.Path);
        return new SeeOther(context.Request.PathBase + options.Path + returnTo);
    }

    private static async Task<IResult> SignOut(HttpContext context, IAntiforgery antiforgery, DashboardOptions options)
    {
        if (!await antiforgery.IsRequestValidAsync(context)) return Results.Text("Invalid anti-forgery token.\n", statusCode: 400);
        DashboardAccess.SignOut(context, context.Request.PathBase + options.Path);
        return new SeeOther(context.Request.PathBase + options.Path + "/login");
    }

    // ---- assets ----

    private static readonly Dictionary<string, (byte[] Body, string Type, string ETag)> Assets = LoadAssets();

    /// <summary>Version of the assets, appended to their URLs so browsers may cache them for good.</summary>
    public static string AssetVersion { get; } = Convert.ToHexString(SHA256.HashData(Assets.Values.SelectMany(a => a.Body).ToArray()))[..12].ToLowerInvariant();

    private static Dictionary<string, (byte[], string, string)> LoadAssets()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var assets = new Dictionary<string, (byte[], string, string)>();
        foreach (var (name, type) in new[] { ("dashboard.css", "text/css; charset=utf-8"), ("dashboard.js", "text/javascript; charset=utf-8"), ("favicon.svg", "image/svg+xml") })
        {
            using var stream = assembly.GetManifestResourceStream($"Dispatcher.Web.Dashboard.Assets.{name}")
                ?? throw new InvalidOperationException($"dashboard asset {name} is not embedded");
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var body = memory.ToArray();
            assets[name] = (body, type, "\"" + Convert.ToHexString(SHA256.HashData(body))[..16] + "\"");
        }
        return assets;
    }

    private static IResult Asset(HttpContext context, string name)
    {
        if (!Assets.TryGetValue(name, out var asset)) return Results.NotFound();
        context.Response.Headers.ETag = asset.ETag;
        context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        if (context.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Body, asset.Type);
    }

    // ---- pages ----

    private static async Task<IResult> Overview(HttpContext context, JobMonitor monitor, RecurringJobs recurring, BatchQueries batches,
        string? range, CancellationToken ct)
    {
        var view = View(context);
        var counts = await monitor.CountsAsync(ct);
        var (window, bucket) = GraphRange(range);
        var points = await monitor.ThroughputAsync(window, bucket, ct);
        var workers = await monitor.WorkersAsync(ct);
        var recurringJobs = await recurring.ListAsync(ct);
        var active = await batches.ListAsync(BatchQueries.ActiveStatuses, null, 20, ct);
        return Page<Overview>(new
        {
            View = view, Counts = counts, Graph = new ThroughputGraphModel(RangeName(range), points, bucket),
            Workers = workers, Recurring = recurringJobs, Batches = active.Batches.Select(b => BatchProgress.Of(b, view.Now)).ToList(),
        });
    }

    private static string RangeName(string? range) => range is "day" or "week" ? range : "hour";

    private static (TimeSpan Window, TimeSpan Bucket) GraphRange(string? range) => RangeName(range) switch
    {
        "day" => (TimeSpan.FromDays(1), TimeSpan.FromHours(1)),
        "week" => (TimeSpan.FromDays(7), TimeSpan.FromHours(1)),
        _ => (TimeSpan.FromHours(1), TimeSpan.FromMinutes(1)),
    };

    private static async Task<IResult> Graph(HttpContext context, JobMonitor monitor, string? range, CancellationToken ct)
    {
        var (window, bucket) = GraphRange(range);
        var points = await monitor.ThroughputAsync(window, bucket, ct);
        return Page<ThroughputGraph>(new { Model = new ThroughputGraphModel(RangeName(range), points, bucket) });
    }

    /// <summary>The numbers pages mark with data-live / data-bar, for the refresh script; a few cheap reads.</summary>
    private static async Task<IResult> Live(HttpContext context, JobMonitor monitor, BatchQueries batches, IServiceProvider services,
        string? batch, bool? onboarding, CancellationToken ct)
    {
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var live = new Dictionary<string, string>();
        var counts = await monitor.CountsAsync(ct);
        foreach (var (state, count) in counts.ByState) live[$"state.{DashboardView.StateSlug(state)}"] = count.ToString("N0");
        foreach (var queue in counts.ByQueue) live[$"queue.{queue.Queue}.{DashboardView.StateSlug(queue.State)}"] = queue.Count.ToString("N0");
        var workers = await monitor.WorkersAsync(ct);
        live["workers"] = workers.Count.ToString();
        live["workers.running"] = workers.Sum(w => w.RunningJobs).ToString();
        foreach (var worker in workers)
        {
            live[$"worker.{worker.Id}.running"] = worker.RunningJobs.ToString();
            live[$"worker.{worker.Id}.heartbeat"] = DashboardView.Ago(now, worker.HeartbeatAt);
        }
        var active = await batches.ListAsync(BatchQueries.ActiveStatuses, null, BatchQueries.MaxPageSize, ct);
        foreach (var b in active.Batches) BatchProgress.Of(b, now).AddLive(live);
        // Batches the page shows that are no longer active (one that just finished must show it).
        var shown = (batch ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Take(100)
            .Select(s => long.TryParse(s, out var id) ? id : 0).Where(id => id > 0 && active.Batches.All(b => b.Id != id)).ToList();
        foreach (var b in await batches.GetManyAsync(shown, ct)) BatchProgress.Of(b, now).AddLive(live);
        // Only the onboarding page shows these counts: other pages do not pay for them every few seconds.
        if (onboarding == true && services.GetService<OnboardingCalls>() is { } calls)
            foreach (var (status, count) in await calls.CountsAsync(ct)) live[$"onboarding.{status}"] = DashboardView.OnboardingCount(count);
        return Results.Json(live);
    }

    private static async Task<IResult> Jobs(HttpContext context, JobMonitor monitor, JobKindRegistry kinds, string? state, string? queue, string? kind,
        string? text, long? before, long? after, int? size, string? id, CancellationToken ct)
    {
        var view = View(context);
        // The search by job id (Hangfire's "find job"): straight to its page.
        if (Blank(id) is { } wanted)
            return long.TryParse(wanted.TrimStart('#'), out var jobId) && jobId > 0
                ? new SeeOther(view.Url($"/jobs/{jobId}"))
                : Results.Text($"'{wanted}' is not a job id: job ids are positive whole numbers.\n", statusCode: 400);
        JobState? parsed;
        try { parsed = DashboardView.ParseState(state); }
        catch (ArgumentException ex) { return Results.Text(ex.Message, statusCode: 400); }
        var filter = new JobFilter(parsed, Blank(queue), Blank(kind), Blank(text));
        // Filters beyond the state (which has its own index) look at a bounded range of ids per page.
        var window = filter.Queue is null && filter.Kind is null && filter.Text is null ? (int?)null : SearchWindow;
        var limit = Math.Clamp(size ?? PageSize, 1, 200);
        JobPage? page = null;
        if (after is { } above)
        {
            page = await monitor.ListNewerAsync(filter, above, limit, ct, window);
            // Nothing newer beyond it: that is the first page, shown as the first page (full, and live at the top).
            if (page.NewerAfterId is null) (page, after) = (null, null);
            else before = null;
        }
        page ??= await monitor.ListAsync(filter, after is null ? before : null, limit, ct, window);
        var newest = before is null && after is null;
        var counts = await monitor.CountsAsync(ct);
        return Page<JobsPage>(new
        {
            View = view, Filter = filter, Page = page, Counts = counts, Before = before, After = after, Newest = newest, Size = limit,
            Kinds = kinds.All.Select(k => k.Name).Order().ToList(),
        });
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static async Task<IResult> Job(HttpContext context, JobMonitor monitor, long id, CancellationToken ct)
    {
        var view = View(context);
        var job = await monitor.GetAsync(id, ct);
        return job is null
            ? Page<MissingPage>(new { View = view, What = $"Job {id}", Back = "/jobs" }, 404)
            : Page<JobDetailsPage>(new { View = view, Details = job });
    }

    private static async Task<IResult> Recurring(HttpContext context, RecurringJobs recurring, CancellationToken ct) =>
        Page<RecurringPage>(new { View = View(context), Jobs = await recurring.ListAsync(ct) });

    private static async Task<IResult> Workers(HttpContext context, JobMonitor monitor, CancellationToken ct) =>
        Page<WorkersPage>(new { View = View(context), Workers = await monitor.WorkersAsync(ct) });

    private static async Task<IResult> BatchList(HttpContext context, BatchQueries batches, string? status, long? before, CancellationToken ct)
    {
        var view = View(context);
        var statuses = status switch { null or "" or "all" => null, "active" => BatchQueries.ActiveStatuses, _ => new[] { status } };
        var page = await batches.ListAsync(statuses, before, PageSize, ct);
        return Page<BatchesPage>(new
        {
            View = view, Status = status ?? "all", Before = before, NextBeforeId = page.NextBeforeId,
            Batches = page.Batches.Select(b => BatchProgress.Of(b, view.Now)).ToList(),
        });
    }

    private static async Task<IResult> Batch(HttpContext context, Batches batches, BatchQueries queries, long id, string? status, long? before,
        CancellationToken ct)
    {
        var view = View(context);
        if (await batches.GetAsync(id, ct) is not { } batch) return Page<MissingPage>(new { View = view, What = $"Batch {id}", Back = "/batches" }, 404);
        var contacts = await queries.ContactsAsync(id, Blank(status), before, 50, ct);
        return Page<BatchDetailsPage>(new { View = view, Progress = BatchProgress.Of(batch, view.Now), Status = Blank(status), Before = before, Contacts = contacts });
    }

    private static async Task<IResult> Onboarding(HttpContext context, IServiceProvider services, string? status, long? before, CancellationToken ct)
    {
        var view = View(context);
        if (services.GetService<OnboardingCalls>() is not { } calls)
            return Page<OnboardingPage>(new { View = view, Enabled = false, Status = (string?)null, Counts = new Dictionary<string, long>(), Page = (OnboardingCallPage?)null });
        var page = await calls.ListAsync(Blank(status), before, PageSize * 2, ct);
        return Page<OnboardingPage>(new { View = view, Enabled = true, Status = Blank(status), Counts = await calls.CountsAsync(ct), Page = (OnboardingCallPage?)page, Before = before });
    }

    // ---- actions ----

    private static async Task<IResult> JobAction(HttpContext context, JobMonitor monitor, CancellationToken ct)
    {
        var form = await context.Request.ReadFormAsync(ct);
        var action = form["action"].ToString();
        var returnTo = form["return"].ToString();
        var all = form["scope"] == "all";
        var ids = form["ids"].Select(v => long.TryParse(v, out var id) ? id : 0).Where(id => id > 0).Distinct().ToArray();
        JobFilter filter;
        try { filter = new JobFilter(DashboardView.ParseState(form["state"]), Blank(form["queue"]), Blank(form["kind"]), Blank(form["text"])); }
        catch (ArgumentException ex) { return Results.Text(ex.Message, statusCode: 400); }
        if (action is not ("retry" or "cancel" or "delete"))
            return Results.Text($"unknown action '{action}': retry, cancel or delete\n", statusCode: 400);
        if (!all && ids.Length == 0) return Back(context, returnTo, "Nothing selected.");
        if (action == "delete" && form["confirm"] != "yes")
            return Page<ConfirmDelete>(new { View = View(context), Ids = ids, All = all, Filter = filter, ReturnTo = SafeReturn(returnTo) });

        var changed = (action, all) switch
        {
            ("retry", true) => await monitor.RetryMatchingAsync(filter, ct),
            ("cancel", true) => await monitor.CancelMatchingAsync(filter, ct),
            ("delete", true) => await monitor.DeleteMatchingAsync(filter, ct),
            ("retry", false) => await monitor.RetryAsync(ids, ct),
            ("cancel", false) => await monitor.CancelAsync(ids, ct),
            _ => await monitor.DeleteAsync(ids, ct),
        };
        var verb = action switch { "retry" => "Retried", "cancel" => "Cancelled", _ => "Deleted" };
        // A deleted job's own page is gone: go back to the list instead.
        if (action == "delete" && SafeReturn(returnTo).StartsWith("/jobs/")) returnTo = "/jobs";
        return Back(context, returnTo, $"{verb} {changed} job{(changed == 1 ? "" : "s")}.");
    }

    private static async Task<IResult> RecurringAction(HttpContext context, RecurringJobs recurring, string name, string action, CancellationToken ct)
    {
        switch (action)
        {
            case "trigger":
                var jobId = await recurring.TriggerAsync(name, ct);
                return jobId is null ? Results.NotFound() : Back(context, "/recurring", $"Triggered {name}: job {jobId}.");
            case "pause":
                return await recurring.PauseAsync(name, ct) ? Back(context, "/recurring", $"Paused {name}.") : Results.NotFound();
            case "resume":
                return await recurring.ResumeAsync(name, ct) ? Back(context, "/recurring", $"Resumed {name}.") : Results.NotFound();
            default:
                return Results.Text($"unknown action '{action}': trigger, pause or resume\n", statusCode: 400);
        }
    }

    private static async Task<IResult> BatchAction(HttpContext context, Batches batches, long id, string action, CancellationToken ct)
    {
        var back = $"/batches/{id}";
        switch (action)
        {
            case "pause":
                return Back(context, back, await batches.PauseAsync(id, ct) ? "Paused: no new dials; live calls finish." : "This batch is not running.");
            case "resume":
                return Back(context, back, await batches.ResumeAsync(id, ct) ? "Resumed." : "This batch is not paused.");
            case "cancel":
                return Back(context, back, await batches.CancelAsync(id, ct) ? "Cancelled: queued contacts will not be called." : "This batch cannot be cancelled.");
            case "retry-failed":
                var requeued = await batches.RetryFailedAsync(id, ct);
                return Back(context, back, $"Queued {requeued} failed contact{(requeued == 1 ? "" : "s")} again.");
            default:
                return Results.Text($"unknown action '{action}': pause, resume, cancel or retry-failed\n", statusCode: 400);
        }
    }

    private static async Task<IResult> OnboardingRetry(HttpContext context, IServiceProvider services, CancellationToken ct)
    {
        if (services.GetService<OnboardingCalls>() is not { } calls) return Results.NotFound();
        var form = await context.Request.ReadFormAsync(ct);
        var ids = form["scope"] == "all" ? null
            : form["ids"].Select(v => long.TryParse(v, out var id) ? id : 0).Where(id => id > 0).Distinct().ToArray();
        if (ids is { Length: 0 }) return Back(context, form["return"].ToString(), "Nothing selected.");
        var retried = await calls.RetryFailedAsync(ids, context.User.Identity?.Name is { Length: > 0 } user ? $"dashboard ({user})" : "dashboard", ct);
        return Back(context, form["return"].ToString(), $"Queued {retried} failed call{(retried == 1 ? "" : "s")} again.");
    }
}
