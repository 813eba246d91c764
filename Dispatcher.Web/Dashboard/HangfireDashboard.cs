using Dispatcher.Web.Configuration;
using Hangfire;
using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Hangfire's dashboard at /hangfire, behind the same access rules as ours: local requests only
/// by default (the TCP peer too), or everyone signs in; read-only users see everything and
/// cannot act; its POSTs carry ASP.NET Core antiforgery tokens (registered by AddDashboard).
/// </summary>
public static class HangfireDashboard
{
    public const string Path = "/hangfire";

    public static void MapHangfireDashboard(this WebApplication app)
    {
        var access = app.Services.GetRequiredService<DashboardAccess>();
        var options = app.Services.GetRequiredService<DashboardOptions>();
        app.UseHangfireDashboard(Path, new Hangfire.DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [new DashboardAuthorization(access, options)],
            IsReadOnlyFunc = context => access.Authenticate(context.GetHttpContext()) is not { CanAct: true },
            AppPath = "/",
            DashboardTitle = "Dispatcher",
            DarkModeEnabled = true,
            // Its footer would show the database host and name otherwise.
            DisplayStorageConnectionString = false,
        }, app.Services.GetRequiredService<JobStorage>());
    }

    private sealed class DashboardAuthorization(DashboardAccess access, DashboardOptions options) : IDashboardAsyncAuthorizationFilter
    {
        public Task<bool> AuthorizeAsync(DashboardContext context)
        {
            var http = context.GetHttpContext();
            if (access.Authenticate(http) is not null) return Task.FromResult(true);
            // Browsers then ask for the password; scripts see why they were refused.
            if (options.RequiresSignIn) http.Response.Headers.WWWAuthenticate = "Basic realm=\"Dispatcher dashboard\", charset=\"UTF-8\"";
            return Task.FromResult(false);
        }
    }
}
