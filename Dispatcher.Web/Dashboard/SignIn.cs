using System.Net;
using System.Text.RegularExpressions;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// /login (GET the form, POST it) and /logout (POST), inside the dashboard's path. The form posts
/// the antiforgery token Hangfire's middleware checks; a good password sets the sign-in cookie
/// (DashboardAccess) for the dashboard's path and goes back where the user was headed.
/// </summary>
public sealed partial class SignIn : IDashboardDispatcher
{
    public static readonly string[] Routes = ["/login", "/logout"];

    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var options = http.RequestServices.GetRequiredService<DashboardOptions>();
        var access = http.RequestServices.GetRequiredService<DashboardAccess>();
        var cookiePath = http.Request.PathBase.HasValue ? http.Request.PathBase.Value! : "/";
        var home = new UrlHelper(context).To("/");
        if (context.Request.Path == "/logout")
        {
            if (!HttpMethods.IsPost(http.Request.Method)) { http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed; return; }
            DashboardAccess.SignOut(http, cookiePath);
            SeeOther(http, new UrlHelper(context).To("/login"));
            return;
        }
        if (!options.RequiresSignIn) { SeeOther(http, home); return; }
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            await WriteFormAsync(context, null, http.Request.Query["return"]);
            return;
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var returnTo = SafeReturn(form["return"]);
        if (access.CheckPassword(form["username"].ToString(), form["password"].ToString()) is not { } user)
        {
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await WriteFormAsync(context, "Wrong user name or password.", returnTo);
            return;
        }
        access.SignIn(http, user, cookiePath);
        SeeOther(http, new UrlHelper(context).To(returnTo));
    }

    /// <summary>The sign-in form, on its own: nothing of the dashboard shows before signing in.</summary>
    public static Task WriteFormAsync(DashboardContext context, string? error, string? returnTo)
    {
        var http = context.GetHttpContext();
        var field = http.RequestServices.GetRequiredService<IOptions<AntiforgeryOptions>>().Value.FormFieldName;
        string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        http.Response.ContentType = "text/html; charset=utf-8";
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.XFrameOptions = "DENY";
        return http.Response.WriteAsync($"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="none">
            <title>Sign in – Dispatcher</title>
            <style>
            :root {"{"} color-scheme: light dark; font-family: system-ui, sans-serif; {"}"}
            main {"{"} max-width: 22rem; margin: 12vh auto; padding: 0 1rem; {"}"}
            label, input, button {"{"} display: block; width: 100%; box-sizing: border-box; margin-top: .4rem; font: inherit; {"}"}
            input {"{"} padding: .45rem; {"}"} button {"{"} margin-top: 1rem; padding: .5rem; {"}"}
            .error {"{"} color: #c9302c; {"}"}
            </style></head>
            <body><main>
            <h1>Dispatcher dashboard</h1>
            {(error is null ? "" : $"""<p class="error" role="alert">{E(error)}</p>""")}
            <form method="post" action="{E(new UrlHelper(context).To("/login"))}">
            <input type="hidden" name="{E(field)}" value="{E(context.AntiforgeryToken)}">
            <input type="hidden" name="return" value="{E(SafeReturn(returnTo))}">
            <label for="username">User name</label><input id="username" name="username" autocomplete="username" required autofocus>
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form></main></body></html>
            """, http.RequestAborted);
    }

    private static void SeeOther(HttpContext http, string location)
    {
        http.Response.StatusCode = StatusCodes.Status303SeeOther;
        http.Response.Headers.Location = location;
    }

    /// <summary>A place inside the dashboard to go back to; anything else (other hosts, "//", schemes) becomes its home.</summary>
    public static string SafeReturn(string? path) =>
        path is { Length: > 0 and < 2000 } && path[0] == '/' && !path.StartsWith("//") && !path.Contains('\\') && LocalReturn().IsMatch(path)
        && !Routes.Contains(path.Split('?')[0]) ? path : "/";

    [GeneratedRegex(@"^/[A-Za-z0-9/_\-.]*(\?[A-Za-z0-9_\-.~%&=+:,]*)?$")]
    private static partial Regex LocalReturn();
}
