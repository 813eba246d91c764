using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Dispatcher.Web.Hosting;

/// <summary>
/// Turns a libpq-style <c>postgres://</c> URL (as handed out by hosting providers and CI services) into an Npgsql
/// connection string. Error messages never echo the input, since it usually carries a password.
/// </summary>
public static class PostgresUrl
{
    private const int DefaultPort = 5432;

    // libpq URL query parameters and the Npgsql keywords they correspond to.
    private static readonly Dictionary<string, string> LibpqParameters = new(StringComparer.Ordinal)
    {
        ["host"] = "Host",
        ["port"] = "Port",
        ["user"] = "Username",
        ["password"] = "Password",
        ["dbname"] = "Database",
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["channel_binding"] = "Channel Binding",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes",
        ["keepalives_idle"] = "Tcp Keepalive Time",
    };

    private static readonly Regex BadPercentEscape = new("%(?![0-9A-Fa-f]{2})", RegexOptions.CultureInvariant);

    /// <summary>
    /// Converts a <c>postgres://</c> or <c>postgresql://</c> URL to an Npgsql connection string; returns an Npgsql
    /// connection string unchanged after checking that it parses.
    /// </summary>
    /// <exception cref="ArgumentException">The input is neither a well-formed URL nor a valid connection string.</exception>
    public static string ToConnectionString(string urlOrConnectionString)
    {
        if (string.IsNullOrWhiteSpace(urlOrConnectionString))
            throw new ArgumentException("Expected a postgres:// URL or an Npgsql connection string, got an empty value.", nameof(urlOrConnectionString));

        var input = urlOrConnectionString.Trim();
        foreach (var scheme in (ReadOnlySpan<string>)["postgresql://", "postgres://"])
        {
            if (input.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
                return FromUrl(input[scheme.Length..]);
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(urlOrConnectionString);
        }
        catch (ArgumentException e)
        {
            // Npgsql's parse errors name the offending keyword or position, never a value, so they are safe to show.
            throw new ArgumentException($"Not a postgres:// URL and not a valid Npgsql connection string: {e.Message}", nameof(urlOrConnectionString));
        }
        return urlOrConnectionString;
    }

    private static string FromUrl(string rest)
    {
        var builder = new NpgsqlConnectionStringBuilder();

        var queryStart = rest.IndexOf('?');
        var query = queryStart < 0 ? "" : rest[(queryStart + 1)..];
        if (queryStart >= 0)
            rest = rest[..queryStart];

        var pathStart = rest.IndexOf('/');
        var authority = pathStart < 0 ? rest : rest[..pathStart];
        if (pathStart >= 0 && pathStart + 1 < rest.Length)
            builder.Database = Decode(rest[(pathStart + 1)..], "database name");

        // The last '@' ends the user info, so an unescaped '@' in a password still works.
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':');
            var user = Decode(colon < 0 ? userInfo : userInfo[..colon], "user name");
            if (user.Length > 0)
                builder.Username = user;
            if (colon >= 0)
                builder.Password = Decode(userInfo[(colon + 1)..], "password");
        }

        var (host, port) = ParseHostAndPort(authority);
        if (host.Length > 0)
            builder.Host = host;
        builder.Port = port;

        foreach (var parameter in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            ApplyQueryParameter(builder, parameter);

        if (string.IsNullOrEmpty(builder.Host))
            throw Malformed("it has no host");
        return builder.ConnectionString;
    }

    private static (string Host, int Port) ParseHostAndPort(string authority)
    {
        if (authority.Contains(','))
            throw Malformed("it lists several hosts, which is not supported");

        string host;
        var portText = "";
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0)
                throw Malformed("its IPv6 host has no closing ']'");
            host = authority[1..close];
            var afterHost = authority[(close + 1)..];
            if (afterHost.Length > 0)
            {
                if (afterHost[0] != ':')
                    throw Malformed("unexpected text follows its IPv6 host");
                portText = afterHost[1..];
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? "" : authority[(colon + 1)..];
        }

        var port = DefaultPort;
        if (portText.Length > 0
            && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw Malformed("its port is not a number between 1 and 65535");
        }
        return (Decode(host, "host"), port);
    }

    private static void ApplyQueryParameter(NpgsqlConnectionStringBuilder builder, string parameter)
    {
        var equals = parameter.IndexOf('=');
        if (equals < 0)
            throw Malformed("a query parameter has no '='");
        var name = Decode(parameter[..equals], "query parameter name");
        var value = Decode(parameter[(equals + 1)..], $"value of query parameter '{name}'");

        // libpq writes "verify-full", Npgsql's enum is VerifyFull.
        if (name == "sslmode")
            value = value.Replace("-", "");
        var keyword = LibpqParameters.GetValueOrDefault(name, name);
        if (!builder.ContainsKey(keyword))
            throw Malformed($"query parameter '{name}' is neither a supported libpq parameter nor an Npgsql keyword");

        try
        {
            builder[keyword] = value;
        }
        catch (ArgumentException)
        {
            throw Malformed($"query parameter '{name}' has an invalid value");
        }
    }

    private static string Decode(string text, string part)
    {
        if (BadPercentEscape.IsMatch(text))
            throw Malformed($"its {part} contains a malformed %-escape");
        return Uri.UnescapeDataString(text);
    }

    private static ArgumentException Malformed(string reason) =>
        new($"Malformed postgres:// URL: {reason}.", "urlOrConnectionString");
}
