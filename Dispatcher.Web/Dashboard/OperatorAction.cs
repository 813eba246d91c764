using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// A POST action of our pages. Hangfire's middleware has already checked the antiforgery token;
/// read-only users get 401 as from Hangfire's own commands, and anything but a POST 405, both with
/// nothing changed. Answers 303 to the page <see cref="ActAsync"/> names, so a reload never repeats it.
/// </summary>
public abstract class OperatorAction : IDashboardDispatcher
{
    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (context.IsReadOnly)
        {
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var back = await ActAsync(context.UriMatch, form, http.RequestServices, DashboardUser.Of(http)?.Name ?? "dashboard", http.RequestAborted);
        http.Response.StatusCode = StatusCodes.Status303SeeOther;
        http.Response.Headers.Location = new UrlHelper(context).To(back);
    }

    /// <summary>Does the action, recorded under <paramref name="user"/>; returns the dashboard path to answer with.</summary>
    protected abstract Task<string> ActAsync(System.Text.RegularExpressions.Match route, IFormCollection form, IServiceProvider services, string user,
        CancellationToken ct);
}
