using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Our pages, actions, metrics, script and stylesheet in Hangfire's dashboard registries. Those
/// registries are static, for the whole process; so this runs once however many service
/// instances start in it (tests, benchmarks), and every page resolves its services per request.
/// </summary>
public static class OperatorPages
{
    private static readonly Lazy<bool> Registered = new(Register);

    public static void EnsureRegistered() => _ = Registered.Value;

    private static bool Register()
    {
        var routes = DashboardRoutes.Routes;
        routes.AddRazorPage("/batches", _ => new BatchesPage());
        routes.AddRazorPage("/batches/(?<id>\\d{1,18})", match => new BatchPage(long.Parse(match.Groups["id"].Value)));
        routes.AddRazorPage("/batches/(?<id>\\d{1,18})/cancel/confirm", match => new CancelBatchPage(long.Parse(match.Groups["id"].Value)));
        routes.Add(BatchActions.Route, new BatchActions());
        routes.AddRazorPage("/onboarding", _ => new OnboardingPage());
        routes.AddRazorPage("/do-not-call", _ => new DoNotCallListPage());
        routes.Add(DoNotCallActions.Route, new DoNotCallActions());
        routes.AddRazorPage("/stops/(?<scope>all|\\d{1,18})/confirm", match => new StopEverythingPage(match.Groups["scope"].Value == "all" ? null : long.Parse(match.Groups["scope"].Value)));
        routes.Add(StopActions.Route, new StopActions());
        routes.Add(LiveCounts.Route, new LiveCounts());
        routes.Add(JobOrigin.Route, new JobOrigin());
        routes.Add(BannerFragment.Route, new BannerFragment());
        foreach (var route in SignIn.Routes) routes.Add(route, new SignIn());

        NavigationMenu.Items.Add(page => new MenuItem("Batches", page.Url.To("/batches"))
        {
            Active = page.RequestPath.StartsWith("/batches", StringComparison.OrdinalIgnoreCase),
            Metric = OperatorMetrics.ActiveBatches,
        });
        NavigationMenu.Items.Add(page => new MenuItem("Onboarding", page.Url.To("/onboarding"))
        {
            Active = page.RequestPath.StartsWith("/onboarding", StringComparison.OrdinalIgnoreCase),
        });
        // Stop everything sits on this page too: one item for the calling rules an operator acts on.
        NavigationMenu.Items.Add(page => new MenuItem("Do not call", page.Url.To("/do-not-call"))
        {
            Active = page.RequestPath.StartsWith("/do-not-call", StringComparison.OrdinalIgnoreCase) || page.RequestPath.StartsWith("/stops", StringComparison.OrdinalIgnoreCase),
        });
        // Hangfire's AppPath is one string for every request; behind a proxy the site's root depends on the request's path prefix.
        NavigationMenu.Items.Add(page => new MenuItem("Back to site", SiteRoot(page.Context)));
        foreach (var metric in OperatorMetrics.All) DashboardMetrics.AddMetric(metric);

        var assembly = typeof(OperatorPages).Assembly;
        DashboardRoutes.AddJavaScript(assembly, "Dispatcher.Web.Dashboard.Assets.dispatcher.js");
        DashboardRoutes.AddStylesheet(assembly, "Dispatcher.Web.Dashboard.Assets.dispatcher.css");
        return true;
    }

    /// <summary>The service's root under the request's path prefix (X-Forwarded-Prefix), outside the dashboard.</summary>
    public static string SiteRoot(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var dashboard = http.RequestServices.GetRequiredService<DashboardOptions>().Path;
        var pathBase = http.Request.PathBase.Value ?? "";
        return (pathBase.EndsWith(dashboard, StringComparison.OrdinalIgnoreCase) ? pathBase[..^dashboard.Length] : pathBase) + "/";
    }
}
