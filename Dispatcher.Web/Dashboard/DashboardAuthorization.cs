using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Hangfire's dashboard authorization filter, for its pages and ours: local requests only by
/// default (the TCP peer too), or everyone signs in (HTTP Basic or the sign-in form). A browser
/// that is not signed in gets the sign-in form; scripts get 401 with a Basic challenge.
/// </summary>
public sealed class DashboardAuthorization(DashboardAccess access, DashboardOptions options) : IDashboardAsyncAuthorizationFilter
{
    public async Task<bool> AuthorizeAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (SignIn.Routes.Contains(context.Request.Path)) return true; // the form and its POST (which still needs the antiforgery token)
        if (access.Authenticate(http) is { } user)
        {
            user.Remember(http);
            return true;
        }
        http.Response.StatusCode = StatusCodes.Status401Unauthorized;
        http.Response.Headers.CacheControl = "no-store";
        if (!options.RequiresSignIn)
        {
            await http.Response.WriteAsync("The dashboard accepts local requests only. Set DASHBOARD_USERNAME and DASHBOARD_PASSWORD to open it to others.\n");
            return false;
        }
        if (HttpMethods.IsGet(http.Request.Method) && http.Request.Headers.Accept.ToString().Contains("text/html"))
        {
            await SignIn.WriteFormAsync(context, error: null, returnTo: context.Request.Path + http.Request.QueryString);
            return false;
        }
        // Hangfire's own polling (jQuery sets X-Requested-With) gets a bare 401: a challenge would pop up the browser's password dialog.
        if (http.Request.Headers.XRequestedWith != "XMLHttpRequest")
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"Dispatcher dashboard\", charset=\"UTF-8\"";
        await http.Response.WriteAsync("Sign in: HTTP Basic or the dashboard's sign-in form.\n");
        return false;
    }
}
