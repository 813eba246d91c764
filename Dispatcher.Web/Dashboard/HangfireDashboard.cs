using Hangfire;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Hangfire's dashboard at DASHBOARD_PATH (/hangfire by default), with our pages inside it
/// (OperatorPages), behind our authorization filter: local requests only by default (the TCP peer
/// too), or everyone signs in; read-only users see everything and cannot act; every POST carries
/// an ASP.NET Core antiforgery token, which Hangfire's middleware checks once it is registered.
/// </summary>
public static class HangfireDashboard
{
    public static IServiceCollection AddDashboard(this IServiceCollection services, DashboardOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<DashboardAccess>();
        services.AddSingleton<OnboardingJobIds>();
        services.AddSingleton(new Redaction(options.ShowPhoneNumbers));
        // A Requeue clicked in Hangfire's own pages is recorded under the signed-in user.
        services.AddHttpContextAccessor();
        services.AddSingleton(sp =>
        {
            var accessor = sp.GetRequiredService<IHttpContextAccessor>();
            return new RequeueAuthor(() => accessor.HttpContext is { } http ? DashboardUser.Of(http)?.Name : null);
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "dispatcher_dashboard_csrf";
            o.FormFieldName = "__csrf";
        });
        return services;
    }

    public static void MapHangfireDashboard(this WebApplication app)
    {
        OperatorPages.EnsureRegistered();
        var access = app.Services.GetRequiredService<DashboardAccess>();
        var options = app.Services.GetRequiredService<DashboardOptions>();
        app.UseHangfireDashboard(options.Path, new Hangfire.DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [new DashboardAuthorization(access, options)],
            IsReadOnlyFunc = context => access.Authenticate(context.GetHttpContext()) is not { CanAct: true },
            // "Back to site" is a navigation item built per request (OperatorPages): a fixed AppPath would leave a proxy's path prefix.
            AppPath = null,
            DashboardTitle = "Dispatcher",
            DarkModeEnabled = true,
            // Its footer would show the database host and name otherwise.
            DisplayStorageConnectionString = false,
        }, app.Services.GetRequiredService<DashboardJobStorage>());
    }
}
