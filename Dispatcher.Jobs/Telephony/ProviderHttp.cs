using System.Net.Http.Headers;
using System.Text.Json;
using RestSharp;

namespace Dispatcher.Jobs.Telephony;

/// <summary>What the provider clients share: a deadline on the injected clock, Retry-After, same-origin paging.</summary>
internal static class ProviderHttp
{
    /// <summary>Provider bodies kept in errors are cut to this length.</summary>
    public const int MaxBodyChars = 2_000;

    /// <summary>
    /// A provider's REST client, set up so that no request is placed twice or leaks its credentials:
    /// no redirects (they would carry the credentials wherever they point), no 100-continue (HttpClient
    /// may resend a POST whose body waited for it), and a real-time timeout as the backstop of the
    /// clock-driven deadline in <see cref="SendAsync"/>.
    /// </summary>
    public static RestClient Client(Uri baseUrl, TimeSpan timeout, RestSharp.Authenticators.IAuthenticator? authenticator = null) =>
        new(new RestClientOptions(baseUrl)
        {
            Authenticator = authenticator,
            Timeout = timeout,
            FollowRedirects = false,
            Expect100Continue = false,
            ThrowOnAnyError = false,
        });

    public static bool IsSuccess(RestResponse answer) => (int)answer.StatusCode is >= 200 and < 300;

    /// <summary>The body as <typeparamref name="T"/>, or null when it is empty or not that JSON.</summary>
    public static T? Read<T>(string? content, JsonSerializerOptions json) where T : class
    {
        if (string.IsNullOrWhiteSpace(content)) return null;
        try
        {
            return JsonSerializer.Deserialize<T>(content, json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Truncate(string? text) =>
        text is null ? "" : text.Length <= MaxBodyChars ? text : text[..MaxBodyChars];

    /// <summary>
    /// Sends with a deadline on the injected clock (so tests can expire it); RestSharp's own timeout
    /// (real time) stays as a backstop so a clock nobody advances never hangs a request. The
    /// caller's cancellation throws; the deadline gives TimedOut.
    /// </summary>
    public static async Task<(RestResponse Answer, bool TimedOut)> SendAsync(RestClient rest, RestRequest http, TimeSpan timeout, TimeProvider clock,
        CancellationToken ct)
    {
        using var deadline = new CancellationTokenSource(timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        RestResponse answer;
        try
        {
            answer = await rest.ExecuteAsync(http, linked.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            answer = new RestResponse(http) { ResponseStatus = ResponseStatus.TimedOut };
        }
        // RestSharp turns cancellation into an error response; the caller asked to stop, so stop.
        ct.ThrowIfCancellationRequested();
        var timedOut = answer.StatusCode == 0
            && (deadline.IsCancellationRequested || answer.ResponseStatus == ResponseStatus.TimedOut);
        return (answer, timedOut);
    }

    /// <summary>Retry-After in seconds or as an HTTP date; null when absent or unreadable; never negative.</summary>
    public static TimeSpan? RetryAfter(RestResponse answer, TimeProvider clock)
    {
        var header = answer.Headers?.FirstOrDefault(h => string.Equals(h.Name, "Retry-After", StringComparison.OrdinalIgnoreCase))?.Value;
        return string.IsNullOrWhiteSpace(header) || !RetryConditionHeaderValue.TryParse(header.Trim(), out var parsed)
            ? null
            : RetryAfter(parsed, clock);
    }

    /// <summary>A parsed Retry-After as a wait from now; null when absent; never negative.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, TimeProvider clock)
    {
        var wait = header?.Delta ?? (header?.Date is { } at ? at - clock.GetUtcNow() : null);
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    /// <summary>A next-page link elsewhere than the configured API would receive the credentials: only the same origin passes.</summary>
    public static bool SameOrigin(Uri baseUrl, string next, out Uri uri) =>
        Uri.TryCreate(baseUrl, next, out uri!)
        && uri.Scheme == baseUrl.Scheme
        && string.Equals(uri.Host, baseUrl.Host, StringComparison.OrdinalIgnoreCase)
        && uri.Port == baseUrl.Port;
}
