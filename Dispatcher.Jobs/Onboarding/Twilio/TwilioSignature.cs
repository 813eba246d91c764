using System.Security.Cryptography;
using System.Text;

namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// Twilio request signatures (the X-Twilio-Signature header): Base64 HMAC-SHA1 keyed with the
/// account's Auth Token over the full URL Twilio requested, query string included, followed by
/// every form parameter sorted by name (ordinal), each as name then value with no separators.
/// </summary>
public static class TwilioSignature
{
    public const string HeaderName = "X-Twilio-Signature";
    private const int SignatureBytes = 20;

    /// <summary>
    /// The signature for a form POST to <paramref name="url"/>. A repeated name keeps every pair,
    /// ordered by name and then by value.
    /// </summary>
    public static string Sign(string authToken, string url, IEnumerable<KeyValuePair<string, string>> formParameters)
    {
        ArgumentException.ThrowIfNullOrEmpty(authToken);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(formParameters);
        Span<byte> mac = stackalloc byte[SignatureBytes];
        Compute(authToken, url, Sorted(formParameters), mac);
        return Convert.ToBase64String(mac);
    }

    /// <summary>
    /// Whether <paramref name="signatureHeader"/> signs this request. <paramref name="url"/> must be
    /// the URL Twilio was given (behind a proxy: rebuilt from the public base URL), since that is what
    /// it signs. As Twilio's own validator does, the URL with its default port (443 for https, 80 for
    /// http) added or removed is accepted too; a missing or unreadable header is simply not valid.
    /// </summary>
    public static bool IsValid(string authToken, string url, IEnumerable<KeyValuePair<string, string>> formParameters, string? signatureHeader)
    {
        // An empty token would make every signature forgeable, so it is a configuration error, not a mismatch.
        ArgumentException.ThrowIfNullOrEmpty(authToken);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(formParameters);
        if (string.IsNullOrWhiteSpace(signatureHeader)) return false;
        Span<byte> offered = stackalloc byte[SignatureBytes];
        if (!Convert.TryFromBase64String(signatureHeader.Trim(), offered, out var written) || written != SignatureBytes)
            return false;

        var sorted = Sorted(formParameters);
        Span<byte> expected = stackalloc byte[SignatureBytes];
        var valid = false;
        foreach (var candidate in UrlForms(url))
        {
            Compute(authToken, candidate, sorted, expected);
            // Every form is compared, so the time taken says nothing about which one matched.
            valid |= CryptographicOperations.FixedTimeEquals(expected, offered);
        }
        return valid;
    }

    private static KeyValuePair<string, string>[] Sorted(IEnumerable<KeyValuePair<string, string>> formParameters) =>
        formParameters
            .Select(p => new KeyValuePair<string, string>(p.Key ?? "", p.Value ?? ""))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .ToArray();

    private static void Compute(string authToken, string url, KeyValuePair<string, string>[] sorted, Span<byte> destination)
    {
        var data = new StringBuilder(url);
        foreach (var (name, value) in sorted) data.Append(name).Append(value);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, Encoding.UTF8.GetBytes(authToken));
        hmac.AppendData(Encoding.UTF8.GetBytes(data.ToString()));
        hmac.GetHashAndReset(destination);
    }

    // The URL as given, then the same URL with its scheme's default port added (when it has no port)
    // or removed (when it has exactly that one). The text is edited, not re-parsed, so that nothing
    // else in it changes. A non-default port is never dropped.
    private static IEnumerable<string> UrlForms(string url)
    {
        yield return url;
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0) yield break;
        var scheme = url[..schemeEnd];
        var defaultPort = scheme.Equals("https", StringComparison.OrdinalIgnoreCase) ? "443"
            : scheme.Equals("http", StringComparison.OrdinalIgnoreCase) ? "80"
            : null;
        if (defaultPort is null) yield break;

        var authorityStart = schemeEnd + 3;
        var authorityEnd = url.IndexOfAny(['/', '?', '#'], authorityStart);
        if (authorityEnd < 0) authorityEnd = url.Length;
        var authority = url[authorityStart..authorityEnd];
        var hostStart = authority.LastIndexOf('@') + 1;
        var colon = authority.LastIndexOf(':');
        // A colon inside [..] belongs to an IPv6 address, not to a port.
        var hasPort = colon >= hostStart && colon > authority.LastIndexOf(']');
        if (!hasPort)
            yield return url[..authorityEnd] + ":" + defaultPort + url[authorityEnd..];
        else if (string.Equals(authority[(colon + 1)..], defaultPort, StringComparison.Ordinal))
            yield return url[..(authorityStart + colon)] + url[authorityEnd..];
    }
}
