using Dispatcher.Jobs.Telephony;
using System.Globalization;
using System.Text.Json;
using RestSharp;
using RestSharp.Authenticators;

namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// Talks to Twilio's 2010-04-01 Calls API for one account. One instance serves the whole process:
/// it is thread-safe and holds one connection pool.
/// </summary>
public sealed class TwilioClient : IDisposable
{
    /// <summary>The progress events every call subscribes to, sent as one StatusCallbackEvent field each.</summary>
    public static readonly IReadOnlyList<string> StatusCallbackEvents = ["initiated", "ringing", "answered", "completed"];

    private const int MaxPages = 10;
    private const int PageSize = 100;
    private const int RateLimitedCode = 20429;
    private const int MaxRingSeconds = 600;
    private const string CallsPath = "2010-04-01/Accounts/{accountSid}/Calls.json";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    private readonly TwilioOptions _options;
    private readonly TimeProvider _clock;
    private readonly Uri _baseUrl;
    private readonly RestClient _rest;

    public TwilioClient(TwilioOptions options, TimeProvider clock)
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
        _baseUrl = new Uri(options.BaseUrl, UriKind.Absolute);
        _rest = ProviderHttp.Client(_baseUrl, options.RequestTimeout, useApiKey
            ? new HttpBasicAuthenticator(options.ApiKeySid!, options.ApiKeySecret!)
            : new HttpBasicAuthenticator(options.AccountSid, options.AuthToken));
    }

    /// <summary>
    /// POST /2010-04-01/Accounts/{AccountSid}/Calls.json: places one outbound call from
    /// <see cref="TwilioOptions.FromNumber"/>, subscribed to every progress event.
    /// </summary>
    public async Task<TwilioCallOutcome> CreateCallAsync(CreateTwilioCall call, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentException.ThrowIfNullOrEmpty(call.To);
        RequireAbsoluteHttpUrl(call.Url, nameof(call.Url));
        RequireAbsoluteHttpUrl(call.StatusCallback, nameof(call.StatusCallback));
        if (call.TimeoutSeconds is < 1 or > MaxRingSeconds)
            throw new ArgumentOutOfRangeException(nameof(call), $"TimeoutSeconds must be 1 to {MaxRingSeconds}.");
        if (string.IsNullOrEmpty(_options.FromNumber))
            throw new InvalidOperationException("TwilioOptions.FromNumber is not set.");

        var form = new List<KeyValuePair<string, string>>
        {
            new("To", call.To),
            new("From", _options.FromNumber),
            new("Url", call.Url),
            new("Method", "POST"),
            new("StatusCallback", call.StatusCallback),
            new("StatusCallbackMethod", "POST"),
        };
        form.AddRange(StatusCallbackEvents.Select(e => new KeyValuePair<string, string>("StatusCallbackEvent", e)));
        if (!string.IsNullOrEmpty(call.MachineDetection)) form.Add(new("MachineDetection", call.MachineDetection));
        if (call.TimeoutSeconds is { } ring) form.Add(new("Timeout", ring.ToString(CultureInfo.InvariantCulture)));

        // The body is encoded here, not by RestSharp, so the repeated StatusCallbackEvent keys stay as they are.
        var http = new RestRequest(CallsPath, Method.Post)
            .AddUrlSegment("accountSid", _options.AccountSid)
            .AddHeader(KnownHeaders.Accept, ContentType.Json)
            .AddStringBody(FormEncode(form), ContentType.FormUrlEncoded);

        var response = await SendAsync(http, ct);
        if (response.TimedOut)
            return new TwilioCallOutcome.Unknown($"timeout after {_options.RequestTimeout.TotalSeconds:0.###} s without an answer");
        var answer = response.Answer;
        var status = (int)answer.StatusCode;
        if (status == 0)
            return new TwilioCallOutcome.Unknown($"no answer: {answer.ErrorMessage ?? answer.ResponseStatus.ToString()}");

        if (status is >= 200 and < 300)
        {
            var created = Read<CallJson>(answer.Content)?.ToCall();
            return created is null
                ? new TwilioCallOutcome.Unknown($"status {status} with an unreadable call: {ProviderHttp.Truncate(answer.Content)}")
                : new TwilioCallOutcome.Created(created);
        }
        var (code, message) = ReadError(answer);
        // 429 and 503 say Twilio did nothing. Any other 5xx may come after Twilio placed the call
        // (there is no idempotency key): settle it by look-up like a timeout, so nobody is rung twice.
        if (status is 429 or 503 || code == RateLimitedCode)
            return new TwilioCallOutcome.Retryable(status, code, message, RetryAfter(answer));
        if (status >= 500) return new TwilioCallOutcome.Unknown($"status {status}: {message}");
        if (status is >= 400 and < 500)
            return new TwilioCallOutcome.Rejected(status, code, message);
        // A 3xx: the redirect was not followed, and nothing says whether the call was placed.
        return new TwilioCallOutcome.Unknown($"status {status}: {message}");
    }

    /// <summary>
    /// GET Calls.json?To={to}&amp;StartTime&gt;={date}: the account's calls to that number started at or
    /// after <paramref name="startedAfter"/>, following next_page_uri for at most 10 pages (what was
    /// found by then is returned). Twilio filters by UTC date only, so the exact time is checked here;
    /// a call not yet dialled (no start_time) is judged by date_created, and kept when it has neither.
    /// </summary>
    public async Task<IReadOnlyList<TwilioCall>> FindCallsAsync(string to, DateTimeOffset startedAfter, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(to);
        var calls = new List<TwilioCall>();
        // "StartTime>" is the parameter's name: on the wire it reads StartTime%3E=2030-01-02, i.e. "on or after".
        var next = new RestRequest(CallsPath)
            .AddUrlSegment("accountSid", _options.AccountSid)
            .AddQueryParameter("To", to)
            .AddQueryParameter("StartTime>", startedAfter.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            .AddQueryParameter("PageSize", PageSize.ToString(CultureInfo.InvariantCulture));
        for (var page = 1; page <= MaxPages; page++)
        {
            var answer = await LookUpAsync(next.AddHeader(KnownHeaders.Accept, ContentType.Json), ct);
            if (!ProviderHttp.IsSuccess(answer))
                throw Failure("listing calls", answer);
            var list = Read<CallPageJson>(answer.Content)
                ?? throw new TwilioException((int)answer.StatusCode, null, $"listing calls: unreadable page: {ProviderHttp.Truncate(answer.Content)}");
            foreach (var json in list.Calls ?? [])
            {
                if (json?.ToCall() is not { } call) continue;
                var startedAt = call.StartTime ?? TwilioDates.Parse(json.DateCreated);
                if (startedAt is null || startedAt >= startedAfter) calls.Add(call);
            }
            if (string.IsNullOrEmpty(list.NextPageUri)) break;
            next = new RestRequest(NextPage(list.NextPageUri));
        }
        return calls;
    }

    public void Dispose() => _rest.Dispose();

    private async Task<RestResponse> LookUpAsync(RestRequest http, CancellationToken ct)
    {
        var response = await SendAsync(http, ct);
        if (response.TimedOut)
            throw new TwilioException(null, null, $"timeout after {_options.RequestTimeout.TotalSeconds:0.###} s without an answer");
        if (response.Answer.StatusCode == 0)
            throw new TwilioException(null, null, $"no answer: {response.Answer.ErrorMessage ?? response.Answer.ResponseStatus.ToString()}",
                response.Answer.ErrorException);
        return response.Answer;
    }

    private Task<(RestResponse Answer, bool TimedOut)> SendAsync(RestRequest http, CancellationToken ct) =>
        ProviderHttp.SendAsync(_rest, http, _options.RequestTimeout, _clock, ct);

    // A next link elsewhere than the configured API would receive the credentials: refuse it.
    private Uri NextPage(string next)
    {
        if (!ProviderHttp.SameOrigin(_baseUrl, next, out var uri))
            throw new TwilioException(null, null, $"listing calls: next page link '{next}' leaves {_baseUrl.GetLeftPart(UriPartial.Authority)}");
        return uri;
    }

    // Twilio seldom sends Retry-After; null leaves the backoff to the caller.
    private TimeSpan? RetryAfter(RestResponse answer) => ProviderHttp.RetryAfter(answer, _clock);

    private static (int? Code, string Message) ReadError(RestResponse answer)
    {
        var error = Read<ErrorJson>(answer.Content);
        if (!string.IsNullOrEmpty(error?.Message)) return (error.Code, ProviderHttp.Truncate(error.Message));
        var body = ProviderHttp.Truncate(answer.Content);
        return (error?.Code, body.Length > 0 ? body : $"status {(int)answer.StatusCode} with no body");
    }

    private static TwilioException Failure(string what, RestResponse answer)
    {
        var (code, message) = ReadError(answer);
        var coded = code is null ? "" : $" (code {code})";
        return new TwilioException((int)answer.StatusCode, code, $"{what}: status {(int)answer.StatusCode}{coded}: {message}");
    }

    private static void RequireAbsoluteHttpUrl(string url, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(url, name);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            throw new ArgumentException($"{name} must be an absolute http(s) URL.", name);
    }

    private static string FormEncode(IEnumerable<KeyValuePair<string, string>> form) =>
        string.Join("&", form.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));


    private static T? Read<T>(string? content) where T : class => ProviderHttp.Read<T>(content, Json);

}
