using Dispatcher.Web.Configuration;
using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>GET /dispatcher/banner: the telephony banner as HTML (empty when telephony is live), for dispatcher.js to show on Hangfire's pages.</summary>
public sealed class BannerFragment : IDashboardDispatcher
{
    public const string Route = "/dispatcher/banner";

    public Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        http.Response.ContentType = "text/html; charset=utf-8";
        return http.Response.WriteAsync(TelephonyBanner.Html(http.RequestServices.GetRequiredService<TelephonyMode>()), http.RequestAborted);
    }
}
