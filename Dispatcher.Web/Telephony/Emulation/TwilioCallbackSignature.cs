using System.Security.Cryptography;
using System.Text;

namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// How Twilio signs the requests it sends (X-Twilio-Signature), for the emulation to sign its own:
/// Base64 HMAC-SHA1 keyed with the Auth Token over the URL exactly as given, followed by every form
/// field sorted by name (ordinal), each as name then value. The SDK validates but does not sign.
/// </summary>
public static class TwilioCallbackSignature
{
    public const string HeaderName = "X-Twilio-Signature";

    public static string Sign(string authToken, string url, IEnumerable<KeyValuePair<string, string>> form)
    {
        ArgumentException.ThrowIfNullOrEmpty(authToken);
        var data = new StringBuilder(url);
        foreach (var (name, value) in form.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal))
            data.Append(name).Append(value);
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString())));
    }
}
