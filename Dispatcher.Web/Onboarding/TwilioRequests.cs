using Dispatcher.Jobs.Onboarding;
using Dispatcher.Jobs.Onboarding.Twilio;

namespace Dispatcher.Web.Onboarding;

/// <summary>Checks X-Twilio-Signature of a request against the URL built from API_BASE_URL (behind Render's proxy the request URL differs).</summary>
public sealed class TwilioRequests(OnboardingOptions options, TwilioOptions twilio)
{
    /// <summary>The request's form fields when its signature is valid (none for a GET), else null.</summary>
    public async Task<IReadOnlyList<KeyValuePair<string, string>>?> SignedFormAsync(HttpRequest request, CancellationToken ct)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(ct);
            pairs.AddRange(form.SelectMany(f => f.Value.Select(v => new KeyValuePair<string, string>(f.Key, v ?? ""))));
        }
        var url = options.ApiBaseUrl.TrimEnd('/') + request.Path + request.QueryString;
        return TwilioSignature.IsValid(twilio.AuthToken, url, pairs, request.Headers["X-Twilio-Signature"]) ? pairs : null;
    }
}
