using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// What the dashboard never shows: values under secret-looking keys (key, secret, token,
/// password, authorization, api_key...), and phone numbers beyond their last 4 digits unless
/// DASHBOARD_SHOW_PHONE_NUMBERS=true.
/// </summary>
public sealed partial class Redaction(bool showPhoneNumbers)
{
    public const string Hidden = "[redacted]";
    private static readonly string[] SecretWords = ["secret", "token", "password", "passwd", "authorization", "apikey", "credential", "signature"];

    public bool ShowPhoneNumbers => showPhoneNumbers;

    /// <summary>Pretty JSON with secrets replaced and phone numbers masked; text that is not JSON is returned as masked text.</summary>
    // Relaxed escaping: the page HTML-encodes the text, and "+" or accents should read as themselves.
    public string Json(string json)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(json); }
        catch (JsonException) { return Text(json); }
        return Clean(node)?.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) ?? "null";
    }

    /// <summary>Free text (error messages, stack traces): E.164 numbers masked.</summary>
    public string Text(string? text) =>
        text is null ? "" : showPhoneNumbers ? text : E164().Replace(text, m => Mask(m.Value));

    public string Phone(string? phone) => phone is null ? "" : showPhoneNumbers ? phone : Mask(phone);

    public static bool IsSecretKey(string key)
    {
        var normal = key.Replace("_", "").Replace("-", "").ToLowerInvariant();
        return normal == "key" || normal.EndsWith("key", StringComparison.Ordinal) || SecretWords.Any(word => normal.Contains(word, StringComparison.Ordinal));
    }

    /// <summary>"****1234": the last 4 digits only.</summary>
    public static string Mask(string phone) => Dispatcher.Jobs.Campaigns.PhoneNumber.Mask(phone);

    private JsonNode? Clean(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                    copy[key] = IsSecretKey(key) && value is not null ? JsonValue.Create(Hidden) : Clean(value);
                return copy;
            case JsonArray array:
                return new JsonArray(array.Select(Clean).ToArray());
            case JsonValue value when value.TryGetValue<string>(out var text):
                if (text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || text.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
                    return JsonValue.Create(Hidden);
                return JsonValue.Create(!showPhoneNumbers && LooksLikePhone(text) ? Mask(text) : Text(text));
            default:
                return node?.DeepClone();
        }
    }

    private static bool LooksLikePhone(string text) => PhoneLike().IsMatch(text) && text.Count(char.IsAsciiDigit) is >= 7 and <= 15;

    [GeneratedRegex(@"^\+?[0-9][0-9 ().\-]{5,20}$")]
    private static partial Regex PhoneLike();

    [GeneratedRegex(@"\+[1-9][0-9]{6,14}")]
    private static partial Regex E164();
}
