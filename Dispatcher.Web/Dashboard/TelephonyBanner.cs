using System.Net;
using Dispatcher.Web.Configuration;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// The banner every dashboard page shows while telephony is simulated: our pages render it, and
/// dispatcher.js fetches it into Hangfire's own pages (GET /dispatcher/banner).
/// </summary>
public static class TelephonyBanner
{
    public static string Html(TelephonyMode mode) => mode.Simulated
        ? $"""<div class="alert alert-warning dispatcher-banner" role="status" data-dispatcher-banner><strong>Simulated telephony:</strong> no real calls are placed ({WebUtility.HtmlEncode(mode.Reason)}).</div>"""
        : "";
}
