using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dispatcher.Web.Hosting;
using Microsoft.AspNetCore.DataProtection;

namespace Dispatcher.Web.Dashboard;

/// <summary>Who is looking at the dashboard, and whether they may act (retry, cancel, delete, pause...).</summary>
public sealed record DashboardUser(string Name, bool CanAct)
{
    /// <summary>The user the dashboard's authorization let in for this request (what actions are recorded under).</summary>
    public static DashboardUser? Of(HttpContext context) => context.Items[typeof(DashboardUser)] as DashboardUser;

    public void Remember(HttpContext context) => context.Items[typeof(DashboardUser)] = this;
}

/// <summary>
/// Decides who gets in: with no credentials configured, local requests only (remote address
/// loopback or equal to the local one, as Hangfire's default filter); with credentials, HTTP
/// Basic or the sign-in cookie the login form sets (data-protected, HttpOnly, SameSite=Strict).
/// </summary>
public sealed class DashboardAccess(DashboardOptions options, IDataProtectionProvider protection, TimeProvider clock)
{
    public const string CookieName = "dispatcher_dashboard";
    private static readonly TimeSpan SignInLifetime = TimeSpan.FromHours(12);
    private readonly IDataProtector _protector = protection.CreateProtector("Dispatcher.Web.Dashboard.SignIn");

    public DashboardUser? Authenticate(HttpContext context)
    {
        if (!options.RequiresSignIn)
            return ConnectionPeer.IsLocal(context) ? new DashboardUser("local", !options.ReadOnly) : null;
        if (context.Request.Headers.Authorization.ToString() is { Length: > 6 } header && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':');
                if (colon > 0 && CheckPassword(decoded[..colon], decoded[(colon + 1)..]) is { } basicUser) return basicUser;
            }
            catch (FormatException) { }
            return null;
        }
        if (context.Request.Cookies[CookieName] is { Length: > 0 } cookie)
        {
            try
            {
                var parts = _protector.Unprotect(cookie).Split('\n');
                if (parts.Length == 4 && long.TryParse(parts[2], out var expires) && clock.GetUtcNow().ToUnixTimeSeconds() < expires
                    && Known(parts[0]) is { } known && known.CanAct == (parts[1] == "act") && parts[3] == PasswordStamp(known.Name))
                    return known;
            }
            catch (CryptographicException) { }
        }
        return null;
    }

    /// <summary>The user these credentials belong to, or null; compared in constant time.</summary>
    public DashboardUser? CheckPassword(string user, string password)
    {
        if (options.Username is not null && Same(user, options.Username) && Same(password, options.Password!))
            return new DashboardUser(options.Username, !options.ReadOnly);
        if (options.ReadOnlyUsername is not null && Same(user, options.ReadOnlyUsername) && Same(password, options.ReadOnlyPassword!))
            return new DashboardUser(options.ReadOnlyUsername, false);
        return null;
    }

    public void SignIn(HttpContext context, DashboardUser user, string cookiePath)
    {
        var expires = clock.GetUtcNow() + SignInLifetime;
        var value = _protector.Protect($"{user.Name}\n{(user.CanAct ? "act" : "read")}\n{expires.ToUnixTimeSeconds()}\n{PasswordStamp(user.Name)}");
        context.Response.Cookies.Append(CookieName, value, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps, Path = cookiePath, Expires = expires,
        });
    }

    public static void SignOut(HttpContext context, string cookiePath) =>
        context.Response.Cookies.Delete(CookieName, new CookieOptions { Path = cookiePath });

    /// <summary>A fingerprint of the user's current password: changing the password signs everyone out.</summary>
    private string PasswordStamp(string name) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name == options.Username ? options.Password ?? "" : options.ReadOnlyPassword ?? "")))[..16];

    private DashboardUser? Known(string name) =>
        name == options.Username ? new DashboardUser(name, !options.ReadOnly)
        : name == options.ReadOnlyUsername ? new DashboardUser(name, false)
        : null;

    private static bool Same(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
