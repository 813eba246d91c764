using System.Text;

namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// One HTTP request as an emulated provider received it. Header names are matched
/// case-insensitively; <see cref="Form"/> keeps every pair of a form body in order, repeated names included.
/// </summary>
public sealed record RecordedRequest(
    string Method,
    string PathAndQuery,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    DateTimeOffset At)
{
    public IReadOnlyList<KeyValuePair<string, string>> Form { get; init; } = [];

    public IReadOnlyList<string> FormValues(string name) => Form.Where(p => p.Key == name).Select(p => p.Value).ToArray();

    /// <summary>
    /// Reads the whole body first, because Kestrel notices a client that hangs up only once the body is consumed.
    /// </summary>
    public static async Task<RecordedRequest> ReadAsync(HttpContext context, DateTimeOffset at)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var form = context.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true
            ? ParseForm(body)
            : [];
        return new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body, at) { Form = form };
    }

    private static List<KeyValuePair<string, string>> ParseForm(string body)
    {
        var form = new List<KeyValuePair<string, string>>();
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var (name, value) = equals < 0 ? (pair, "") : (pair[..equals], pair[(equals + 1)..]);
            form.Add(new(Decode(name), Decode(value)));
        }
        return form;

        static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));
    }
}
