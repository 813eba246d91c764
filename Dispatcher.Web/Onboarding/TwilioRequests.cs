using System.Collections.Specialized;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Jobs.Onboarding.Twilio;
using Twilio.Security;

namespace Dispatcher.Web.Onboarding;

/// <summary>
/// Checks X-Twilio-Signature with the Twilio SDK's RequestValidator, against the URL as we gave it to
/// Twilio: rebuilt from API_BASE_URL, since behind Render's proxy the URL the app sees differs.
/// </summary>
public sealed class TwilioRequests(OnboardingOptions options, TwilioOptions twilio)
{
    public const string SignatureHeader = "X-Twilio-Signature";

    /// <summary>The request's form fields when its signature is valid (none for a GET), else null.</summary>
    public async Task<IReadOnlyList<KeyValuePair<string, string>>?> SignedFormAsync(HttpRequest request, CancellationToken ct)
    {
        // An empty token would make every signature forgeable: a configuration error, not a mismatch.
        ArgumentException.ThrowIfNullOrEmpty(twilio.AuthToken);
        var pairs = new List<KeyValuePair<string, string>>();
        var form = new NameValueCollection();
        if (request.HasFormContentType)
        {
            foreach (var (name, values) in await request.ReadFormAsync(ct))
                foreach (var value in values)
                {
                    pairs.Add(new(name, value ?? ""));
                    form.Add(name, value ?? "");
                }
        }
        var url = options.ApiBaseUrl.TrimEnd('/') + request.Path + request.QueryString;
        // The SDK's validator throws on an empty signature instead of refusing it.
        if (request.Headers[SignatureHeader].ToString() is not { Length: > 0 } signature) return null;
        // A validator per request: it holds an HMAC instance, which is not thread-safe.
        return new RequestValidator(twilio.AuthToken).Validate(url, form, signature) ? pairs : null;
    }
}
