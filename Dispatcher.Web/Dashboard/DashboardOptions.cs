using Dispatcher.Web.Configuration;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Dashboard settings. With no credentials set, only local requests get in (like Hangfire's
/// LocalRequestsOnlyAuthorizationFilter); with DASHBOARD_USERNAME and DASHBOARD_PASSWORD set,
/// everyone signs in (HTTP Basic or the login form), and the DASHBOARD_READONLY_* pair sees
/// everything but cannot act.
/// </summary>
public sealed record DashboardOptions
{
    public string Path { get; init; } = "/hangfire";
    public string? Username { get; init; }
    public string? Password { get; init; }
    public string? ReadOnlyUsername { get; init; }
    public string? ReadOnlyPassword { get; init; }
    /// <summary>Everyone who gets in is read-only (DASHBOARD_READONLY=true).</summary>
    public bool ReadOnly { get; init; }
    public bool ShowPhoneNumbers { get; init; }

    public bool RequiresSignIn => Username is not null || ReadOnlyUsername is not null;

    public static DashboardOptions Read(IConfiguration config)
    {
        var path = config["DASHBOARD_PATH"] is { Length: > 0 } raw ? "/" + raw.Trim('/') : "/hangfire";
        if (path == "/" || path.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' or '.')))
            throw new SettingsException("DASHBOARD_PATH", $"'{config["DASHBOARD_PATH"]}' is not a path like /hangfire");
        var (user, password) = Pair(config, "DASHBOARD_USERNAME", "DASHBOARD_PASSWORD");
        var (readOnlyUser, readOnlyPassword) = Pair(config, "DASHBOARD_READONLY_USERNAME", "DASHBOARD_READONLY_PASSWORD");
        if (user is not null && user == readOnlyUser)
            throw new SettingsException("DASHBOARD_READONLY_USERNAME", "must differ from DASHBOARD_USERNAME");
        return new DashboardOptions
        {
            Path = path,
            Username = user,
            Password = password,
            ReadOnlyUsername = readOnlyUser,
            ReadOnlyPassword = readOnlyPassword,
            ReadOnly = Bool(config, "DASHBOARD_READONLY"),
            ShowPhoneNumbers = Bool(config, "DASHBOARD_SHOW_PHONE_NUMBERS"),
        };
    }

    private static (string?, string?) Pair(IConfiguration config, string userName, string passwordName)
    {
        var user = config[userName] is { Length: > 0 } u ? u : null;
        var password = config[passwordName] is { Length: > 0 } p ? p : null;
        if ((user is null) != (password is null))
            throw new SettingsException(user is null ? userName : passwordName, $"is needed with its pair ({userName} and {passwordName})");
        return (user, password);
    }

    private static bool Bool(IConfiguration config, string name) => config[name] switch
    {
        null or "" => false,
        var raw when bool.TryParse(raw, out var value) => value,
        var raw => throw new SettingsException(name, $"'{raw}' is not true or false"),
    };
}
