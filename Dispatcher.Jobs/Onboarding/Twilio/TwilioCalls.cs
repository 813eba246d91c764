using Dispatcher.Jobs.Telephony;
using Twilio.Clients;
using Twilio.Exceptions;
using SystemNetHttpClient = Twilio.Http.SystemNetHttpClient;
using TwilioHttpMethod = Twilio.Http.HttpMethod;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Types;

namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// Creates and looks up calls of one Twilio account with the Twilio SDK's CallResource, over our own
/// HttpClient (see <see cref="TwilioHttpHandler"/>), and turns the answers into the outcomes the dial
/// protocol needs. One instance serves the whole process: it is thread-safe and holds one connection pool.
/// </summary>
public sealed class TwilioCalls : IDisposable
{
    /// <summary>
    /// The progress events every call subscribes to, sent as one StatusCallbackEvent field each: whether
    /// the person picked up, and how the call ended. Not "initiated" (the create request's answer says as
    /// much) nor "ringing" (seconds before one of these): each is a signed webhook and a row update per call.
    /// </summary>
    public static readonly IReadOnlyList<string> StatusCallbackEvents = ["answered", "completed"];

    private const int MaxPages = 10;
    private const int PageSize = 100;
    private const int RateLimitedCode = 20429;
    private const int MaxRingSeconds = 600;

    private readonly TwilioOptions _options;
    private readonly TimeProvider _clock;
    private readonly System.Net.Http.HttpClient _http;
    private readonly TwilioRestClient _rest;

    public TwilioCalls(TwilioOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        if (options.RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "RequestTimeout must be positive.");
        if (string.IsNullOrEmpty(options.AccountSid))
            throw new ArgumentException("AccountSid is required.", nameof(options));
        var useApiKey = !string.IsNullOrEmpty(options.ApiKeySid) || !string.IsNullOrEmpty(options.ApiKeySecret);
        if (useApiKey && (string.IsNullOrEmpty(options.ApiKeySid) || string.IsNullOrEmpty(options.ApiKeySecret)))
            throw new ArgumentException("ApiKeySid and ApiKeySecret go together.", nameof(options));
        if (!useApiKey && string.IsNullOrEmpty(options.AuthToken))
            throw new ArgumentException("AuthToken (or an API key) is required.", nameof(options));

        _options = options with { };
        _clock = clock;
        // No redirects (they would carry the credentials wherever they point), no 100-continue (a POST
        // whose body waited for it may be sent twice); HttpClient's real-time timeout backs up the
        // handler's deadline on the injected clock, so a clock nobody advances never hangs a request.
        _http = new System.Net.Http.HttpClient(
            new TwilioHttpHandler(new Uri(options.BaseUrl, UriKind.Absolute), options.RequestTimeout, clock)
            {
                InnerHandler = new SocketsHttpHandler { AllowAutoRedirect = false },
            })
        {
            Timeout = options.RequestTimeout,
        };
        _http.DefaultRequestHeaders.ExpectContinue = false;
        _rest = useApiKey
            ? new TwilioRestClient(options.ApiKeySid, options.ApiKeySecret, accountSid: options.AccountSid, httpClient: new SystemNetHttpClient(_http))
            : new TwilioRestClient(options.AccountSid, options.AuthToken, httpClient: new SystemNetHttpClient(_http));
    }

    /// <summary>
    /// POST /2010-04-01/Accounts/{AccountSid}/Calls.json: places one outbound call from
    /// <see cref="TwilioOptions.FromNumber"/>, subscribed to every progress event.
    /// </summary>
    public async Task<TwilioCallOutcome> CreateCallAsync(CreateTwilioCall call, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentException.ThrowIfNullOrEmpty(call.To);
        var url = AbsoluteHttpUrl(call.Url, nameof(call.Url));
        var statusCallback = AbsoluteHttpUrl(call.StatusCallback, nameof(call.StatusCallback));
        if (call.TimeoutSeconds is < 1 or > MaxRingSeconds)
            throw new ArgumentOutOfRangeException(nameof(call), $"TimeoutSeconds must be 1 to {MaxRingSeconds}.");
        if (string.IsNullOrEmpty(_options.FromNumber))
            throw new InvalidOperationException("TwilioOptions.FromNumber is not set.");

        var create = new CreateCallOptions(new PhoneNumber(call.To), new PhoneNumber(_options.FromNumber))
        {
            Url = url,
            Method = TwilioHttpMethod.Post,
            StatusCallback = statusCallback,
            StatusCallbackMethod = TwilioHttpMethod.Post,
            StatusCallbackEvent = [.. StatusCallbackEvents],
            MachineDetection = string.IsNullOrEmpty(call.MachineDetection) ? null : call.MachineDetection,
            Timeout = call.TimeoutSeconds,
        };
        var exchange = TwilioExchange.Begin(ct);
        try
        {
            var created = await CallResource.CreateAsync(create, _rest);
            if (exchange.Status is not (>= 200 and < 300) and var status)
                // A 3xx: the redirect was not followed, and nothing says whether the call was placed.
                return new TwilioCallOutcome.Unknown($"status {status?.ToString() ?? "none"}: {ProviderHttp.Truncate(exchange.Body)}");
            return ToCall(created) is { } placed
                ? new TwilioCallOutcome.Created(placed)
                : new TwilioCallOutcome.Unknown($"status {exchange.Status} with an unreadable call: {ProviderHttp.Truncate(exchange.Body)}");
        }
        catch (ApiException refused) when (exchange.Status is { } status)
        {
            var (code, message) = Error(refused, exchange);
            // 429 and 503 say Twilio did nothing. Any other 5xx may come after Twilio placed the call
            // (there is no idempotency key): settle it by look-up like a timeout, so nobody is rung twice.
            if (status is 429 or 503 || code == RateLimitedCode)
                return new TwilioCallOutcome.Retryable(status, code, message, RetryAfter(exchange));
            if (status is >= 400 and < 500) return new TwilioCallOutcome.Rejected(status, code, message);
            return new TwilioCallOutcome.Unknown($"status {status}: {message}");
        }
        catch (ApiConnectionException lost)
        {
            ct.ThrowIfCancellationRequested();
            return new TwilioCallOutcome.Unknown(NoAnswer(lost, exchange));
        }
        catch (Exception unreadable) when (exchange.Status is not null && unreadable is Newtonsoft.Json.JsonException or ApiException)
        {
            return new TwilioCallOutcome.Unknown($"status {exchange.Status} with an unreadable call: {ProviderHttp.Truncate(exchange.Body)}");
        }
    }

    /// <summary>
    /// GET Calls.json?To={to}&amp;StartTime&gt;={date}: the account's calls to that number started at or
    /// after <paramref name="startedAfter"/>, following next_page_uri for at most 10 pages. Twilio
    /// filters by UTC date only, so the exact time is checked here; a call not yet dialled (no
    /// start_time) is judged by date_created, and kept when it has neither.
    /// </summary>
    public async Task<IReadOnlyList<TwilioCall>> FindCallsAsync(string to, DateTimeOffset startedAfter, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(to);
        var read = new ReadCallOptions
        {
            To = new PhoneNumber(to),
            StartTimeAfter = startedAfter.UtcDateTime.Date,
            PageSize = PageSize,
        };
        var exchange = TwilioExchange.Begin(ct);
        try
        {
            // The SDK fetches the next pages while the result is enumerated, so enumerate it here;
            // once the last page allowed is in, it fetches no more.
            var calls = new List<TwilioCall>();
            var pages = await CallResource.ReadAsync(read, _rest);
            foreach (var found in pages)
            {
                if (exchange.Requests >= MaxPages) pages.AutoPaging = false;
                if (ToCall(found) is not { } call) continue;
                var startedAt = call.StartTime ?? Utc(found.DateCreated);
                if (startedAt is null || startedAt >= startedAfter) calls.Add(call);
            }
            return calls;
        }
        catch (ApiException refused) when (exchange.Status is { } status)
        {
            var (code, message) = Error(refused, exchange);
            var coded = code is null ? "" : $" (code {code})";
            throw new TwilioException(status, code, $"listing calls: status {status}{coded}: {message}");
        }
        catch (ApiConnectionException lost)
        {
            ct.ThrowIfCancellationRequested();
            throw new TwilioException(null, null, NoAnswer(lost, exchange), lost.InnerException ?? lost);
        }
        catch (Exception unreadable) when (unreadable is Newtonsoft.Json.JsonException or ApiException)
        {
            throw new TwilioException(exchange.Status, null, $"listing calls: unreadable page: {ProviderHttp.Truncate(exchange.Body)}", unreadable);
        }
    }

    public void Dispose() => _http.Dispose();

    private static TwilioCall? ToCall(CallResource? call) =>
        call is null || string.IsNullOrEmpty(call.Sid) || call.Status is null || string.IsNullOrEmpty(call.Status.ToString())
            ? null
            : new TwilioCall(call.Sid, call.Status.ToString(), call.To, Utc(call.StartTime));

    // The SDK reads Twilio's RFC 2822 dates into DateTime; an unspecified kind is UTC as Twilio wrote it.
    private static DateTimeOffset? Utc(DateTime? at) => at switch
    {
        null => null,
        { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime(), TimeSpan.Zero),
        { } utc => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)),
    };

    private string NoAnswer(ApiConnectionException lost, TwilioExchange exchange) => exchange.TimedOut
        ? $"timeout after {_options.RequestTimeout.TotalSeconds:0.###} s without an answer"
        : $"no answer: {(lost.InnerException ?? lost).Message}";

    // Twilio's code and message when the body was its error JSON, else the raw body (cut).
    private static (int? Code, string Message) Error(ApiException refused, TwilioExchange exchange)
    {
        int? code = refused.Code == 0 ? null : refused.Code;
        if (code is not null && !string.IsNullOrEmpty(refused.Message)) return (code, ProviderHttp.Truncate(refused.Message));
        var body = ProviderHttp.Truncate(exchange.Body);
        return (code, body.Length > 0 ? body : $"status {exchange.Status} with no body");
    }

    // Twilio seldom sends Retry-After; null leaves the backoff to the caller.
    private TimeSpan? RetryAfter(TwilioExchange exchange) => ProviderHttp.RetryAfter(exchange.RetryAfter, _clock);

    private static Uri AbsoluteHttpUrl(string url, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(url, name);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            throw new ArgumentException($"{name} must be an absolute http(s) URL.", name);
        return uri;
    }
}
