using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Web.Simulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dispatcher.Tests.Fakes;

/// <summary>
/// One HTTP request as the fake Twilio received it. Header names are matched case-insensitively;
/// <paramref name="Form"/> keeps every pair of a form body in order, repeated names included.
/// </summary>
public sealed record TwilioRecordedRequest(
    string Method,
    string PathAndQuery,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<KeyValuePair<string, string>> Form,
    DateTimeOffset At)
{
    public IReadOnlyList<string> FormValues(string name) => Form.Where(p => p.Key == name).Select(p => p.Value).ToArray();
}

/// <summary>
/// A call-creation request as the fake read it; fields the form lacked are null. <paramref name="AuthUser"/>
/// is the Basic-auth user name presented (the Account SID or an API key SID), whether or not it was accepted.
/// </summary>
public sealed record TwilioCreateRequest(
    int Sequence,
    string AccountSid,
    string? AuthUser,
    string? To,
    string? From,
    string? Url,
    string? StatusCallback,
    IReadOnlyList<string> StatusCallbackEvents,
    string? MachineDetection,
    IReadOnlyList<KeyValuePair<string, string>> Form,
    DateTimeOffset At);

/// <summary>How the fake answers one call-creation request.</summary>
public abstract record TwilioFakeResponse
{
    private TwilioFakeResponse() { }

    /// <summary>201 with the new call (status queued), whose lifecycle then plays out with status callbacks.</summary>
    public sealed record Create : TwilioFakeResponse;

    /// <summary>429 (or <paramref name="Status"/>) with error code 20429 and <paramref name="RetryAfter"/> as the Retry-After header (none when null).</summary>
    public sealed record RateLimit(string? RetryAfter = null, int Status = 429) : TwilioFakeResponse;

    /// <summary>A Twilio error answer, e.g. (400, 21211, "The 'To' number is not a valid phone number.").</summary>
    public sealed record Reject(int Status, int Code, string Message) : TwilioFakeResponse;

    public sealed record ServerError(int Status = 500) : TwilioFakeResponse;

    /// <summary>
    /// Waits <paramref name="Duration"/>, cut short when the client gives up or the fake stops; then
    /// creates the call if <paramref name="CreateCall"/> (so a POST that timed out client-side may
    /// still have placed it) and answers 201, or 504 when nothing was created, if anyone still listens.
    /// </summary>
    public sealed record Hang(TimeSpan Duration, bool CreateCall = false) : TwilioFakeResponse;

    /// <summary>Aborts the connection without an answer, after creating the call if <paramref name="CreateCall"/>.</summary>
    public sealed record Drop(bool CreateCall = false) : TwilioFakeResponse;
}

/// <summary>A call the fake created, as it stands now. <paramref name="Status"/> follows Twilio's call statuses.</summary>
public sealed record TwilioFakeCall(
    string Sid,
    string? To,
    string? From,
    string Status,
    DateTimeOffset Created,
    DateTimeOffset? StartTime,
    DateTimeOffset? EndTime,
    int? DurationSeconds,
    string? AnsweredBy,
    string? Url,
    string? StatusCallback);

/// <summary>
/// One status callback POST the fake made (or a test made through it): <paramref name="Status"/> is
/// null when no HTTP answer came (see <paramref name="Error"/>); <paramref name="Signature"/> is the
/// X-Twilio-Signature sent, null when the header was left out.
/// </summary>
public sealed record TwilioCallbackDelivery(
    string Url,
    string? CallSid,
    string? CallStatus,
    int? SequenceNumber,
    IReadOnlyList<KeyValuePair<string, string>> Form,
    string? Signature,
    int? Status,
    string? Error,
    DateTimeOffset At);

/// <summary>
/// A real Twilio stand-in on Kestrel (127.0.0.1, a free port) for tests that go over HTTP:
/// POST and GET /2010-04-01/Accounts/{sid}/Calls.json with Basic auth (Account SID + Auth Token or
/// an API key pair), and for each created call a scripted lifecycle whose status callbacks are
/// form POSTs to the request's StatusCallback, signed with <see cref="AuthToken"/> over that exact URL.
/// Creation answers come from <see cref="RespondNext"/>'s queue first, then <see cref="OnCreate"/>.
/// Timers (call ends, hangs) run on the clock given to <see cref="StartAsync"/>. The fake never
/// fetches the TwiML at Url; tests that want it fetch it themselves.
/// </summary>
public sealed class FakeTwilio : IAsyncDisposable
{
    private const string FormItem = "fake-twilio-form";
    private const string CallsRoute = "/2010-04-01/Accounts/{accountSid}/Calls.json";
    private const string ApiVersion = "2010-04-01";
    private static readonly string[] TerminalOutcomes = ["completed", "busy", "no-answer", "failed", "canceled"];

    private readonly TimeProvider _clock;
    private readonly HttpClient _callbacks = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentQueue<TwilioFakeResponse> _queued = new();
    private readonly object _gate = new();
    private readonly List<TwilioRecordedRequest> _requests = [];
    private readonly List<TwilioCreateRequest> _createRequests = [];
    private readonly List<CallState> _calls = [];
    private readonly List<TwilioCallbackDelivery> _deliveries = [];
    private FakeServer _server = null!;

    private FakeTwilio(TimeProvider clock) => _clock = clock;

    /// <summary>Where the fake listens, e.g. http://127.0.0.1:40123 (use as TwilioOptions.BaseUrl).</summary>
    public string BaseUrl => _server.BaseUrl;

    public string AccountSid { get; set; } = "AC0123456789abcdef0123456789abcdef";

    /// <summary>Accepted with <see cref="AccountSid"/> for Basic auth, and the key every status callback is signed with.</summary>
    public string AuthToken { get; set; } = "fake-twilio-auth-token";

    /// <summary>A second accepted Basic-auth pair, as an API key; null accepts none.</summary>
    public string? ApiKeySid { get; set; } = "SKfedcba9876543210fedcba9876543210";

    public string? ApiKeySecret { get; set; } = "fake-twilio-api-key-secret";

    public Func<TwilioCreateRequest, TwilioFakeResponse> OnCreate { get; set; } = _ => new TwilioFakeResponse.Create();

    /// <summary>How each created call ends: completed, busy, no-answer, failed or canceled.</summary>
    public Func<TwilioCreateRequest, string> CallOutcome { get; set; } = _ => "completed";

    /// <summary>From the last progress callback to the terminal one; for a completed call, its talk time.</summary>
    public Func<TwilioCreateRequest, TimeSpan> CallDuration { get; set; } = _ => TimeSpan.FromSeconds(1);

    /// <summary>AnsweredBy for answered calls that asked for MachineDetection.</summary>
    public Func<TwilioCreateRequest, string> AnsweredBy { get; set; } = _ => "human";

    /// <summary>Holds each call's callbacks until its end and delivers them newest first, to exercise out-of-order handling.</summary>
    public bool ShuffleCallbacks { get; set; }

    /// <summary>Caps the client's PageSize on GET Calls.json, to exercise paging.</summary>
    public int MaxPageSize { get; set; } = 1000;

    public static async Task<FakeTwilio> StartAsync(TimeProvider? clock = null)
    {
        var fake = new FakeTwilio(clock ?? TimeProvider.System);
        fake._server = await FakeServer.StartAsync(routes =>
        {
            routes.Use(fake.RecordAsync);
            routes.MapPost(CallsRoute, (RequestDelegate)fake.CreateAsync);
            routes.MapGet(CallsRoute, (RequestDelegate)fake.ListAsync);
        });
        return fake;
    }

    public IReadOnlyList<TwilioRecordedRequest> Requests
    {
        get { lock (_gate) return _requests.ToArray(); }
    }

    public IReadOnlyList<TwilioCreateRequest> CreateRequests
    {
        get { lock (_gate) return _createRequests.ToArray(); }
    }

    /// <summary>Creation requests received for this number, whatever they were answered.</summary>
    public IReadOnlyList<TwilioCreateRequest> CreateRequestsTo(string to)
    {
        lock (_gate) return _createRequests.Where(r => r.To == to).ToArray();
    }

    /// <summary>Every call created, in creation order.</summary>
    public IReadOnlyList<TwilioFakeCall> Calls
    {
        get { lock (_gate) return _calls.Select(c => c.Snapshot()).ToArray(); }
    }

    /// <summary>Every status callback sent so far, in the order they were answered.</summary>
    public IReadOnlyList<TwilioCallbackDelivery> CallbackDeliveries
    {
        get { lock (_gate) return _deliveries.ToArray(); }
    }

    /// <summary>Answers the next creation requests with these, in order, before <see cref="OnCreate"/> is asked again.</summary>
    public void RespondNext(params TwilioFakeResponse[] responses)
    {
        foreach (var response in responses) _queued.Enqueue(response);
    }

    /// <summary>Waits until every call has ended and every callback has been delivered (or has failed).</summary>
    public async Task WaitUntilIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_server.Pending > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{_server.Pending} call lifecycles or deliveries still pending after {timeout}.");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// POSTs <paramref name="form"/> to <paramref name="url"/> as a status callback, for forged or
    /// replayed deliveries, and returns the status. A null signature is the correct one for
    /// <see cref="AuthToken"/> over exactly <paramref name="url"/>; "" leaves the header out.
    /// </summary>
    public async Task<int> SendCallbackAsync(string url, IEnumerable<KeyValuePair<string, string>> form, string? signature = null)
    {
        var delivery = await DeliverAsync(url, form.ToArray(), signature);
        return delivery.Status ?? throw new HttpRequestException($"Callback delivery failed: {delivery.Error}");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _callbacks.Dispose();
    }

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        var (body, headers) = await FakeServer.ReadRequestAsync(context);
        var form = context.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true
            ? ParseForm(body)
            : [];
        context.Items[FormItem] = form;
        var request = new TwilioRecordedRequest(
            context.Request.Method,
            context.Request.Path + context.Request.QueryString,
            headers,
            form,
            _clock.GetUtcNow());
        lock (_gate) _requests.Add(request);
        await next(context);
    }

    private async Task CreateAsync(HttpContext context)
    {
        var form = (IReadOnlyList<KeyValuePair<string, string>>)context.Items[FormItem]!;
        string? Value(string name) => form.Where(p => p.Key == name).Select(p => p.Value).FirstOrDefault();
        var (user, authenticated) = Authenticate(context);
        TwilioCreateRequest info;
        lock (_gate)
        {
            info = new TwilioCreateRequest(
                _createRequests.Count + 1,
                (string)context.Request.RouteValues["accountSid"]!,
                user,
                Value("To"),
                Value("From"),
                Value("Url"),
                Value("StatusCallback"),
                form.Where(p => p.Key == "StatusCallbackEvent").Select(p => p.Value).ToArray(),
                Value("MachineDetection"),
                form,
                _clock.GetUtcNow());
            _createRequests.Add(info);
        }

        if (!authenticated)
        {
            await WriteUnauthorizedAsync(context);
            return;
        }
        if (info.AccountSid != AccountSid)
        {
            await WriteErrorAsync(context, 404, 20404, $"The requested resource /2010-04-01/Accounts/{info.AccountSid}/Calls.json was not found");
            return;
        }
        if (string.IsNullOrEmpty(info.To))
        {
            await WriteErrorAsync(context, 400, 21201, "No 'To' number is specified");
            return;
        }
        if (string.IsNullOrEmpty(info.From))
        {
            await WriteErrorAsync(context, 400, 21603, "A 'From' phone number is required.");
            return;
        }
        if (string.IsNullOrEmpty(info.Url) && string.IsNullOrEmpty(Value("Twiml")) && string.IsNullOrEmpty(Value("ApplicationSid")))
        {
            await WriteErrorAsync(context, 400, 21205, "Url parameter is required.");
            return;
        }

        var response = _queued.TryDequeue(out var queued) ? queued : OnCreate(info);
        switch (response)
        {
            case TwilioFakeResponse.Create:
                await WriteAsync(context, 201, CallJson(CreateCall(info)));
                break;
            case TwilioFakeResponse.RateLimit limit:
                if (limit.RetryAfter is not null) context.Response.Headers.RetryAfter = limit.RetryAfter;
                await WriteErrorAsync(context, limit.Status, 20429, "Too Many Requests");
                break;
            case TwilioFakeResponse.Reject reject:
                await WriteErrorAsync(context, reject.Status, reject.Code, reject.Message);
                break;
            case TwilioFakeResponse.ServerError error:
                await WriteErrorAsync(context, error.Status, 20500, "An internal server error has occurred");
                break;
            case TwilioFakeResponse.Hang hang:
                await HangAsync(context, hang, info);
                break;
            case TwilioFakeResponse.Drop drop:
                if (drop.CreateCall) CreateCall(info);
                context.Abort();
                break;
            default:
                throw new InvalidOperationException($"Unknown fake response {response}.");
        }
    }

    private async Task HangAsync(HttpContext context, TwilioFakeResponse.Hang hang, TwilioCreateRequest info)
    {
        if (!await _server.HoldAsync(context, hang.Duration, _clock)) return;
        var call = hang.CreateCall ? CreateCall(info) : null;
        if (context.RequestAborted.IsCancellationRequested) return;
        if (call is null)
            await WriteErrorAsync(context, 504, 20500, "Gateway timeout");
        else
            await WriteAsync(context, 201, CallJson(call));
    }

    private async Task ListAsync(HttpContext context)
    {
        var (_, authenticated) = Authenticate(context);
        var accountSid = (string)context.Request.RouteValues["accountSid"]!;
        if (!authenticated)
        {
            await WriteUnauthorizedAsync(context);
            return;
        }
        if (accountSid != AccountSid)
        {
            await WriteErrorAsync(context, 404, 20404, $"The requested resource /2010-04-01/Accounts/{accountSid}/Calls.json was not found");
            return;
        }

        var query = context.Request.Query;
        string? Filter(string name) => query.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
        var dateFilters = new List<Func<DateTime, bool>>();
        foreach (var (name, test) in new (string, Func<DateTime, DateTime, bool>)[]
                 {
                     ("StartTime", (day, on) => day == on),
                     ("StartTime>", (day, on) => day >= on),
                     ("StartTime<", (day, on) => day < on),
                 })
        {
            if (Filter(name) is not { } text) continue;
            // A date, or the date-time the Twilio SDK sends; Twilio compares dates.
            if (!DateTime.TryParseExact(text, ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm:ssZ"], CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at))
            {
                await WriteErrorAsync(context, 400, 20001, $"Invalid {name}: '{text}' is not a date as YYYY-MM-DD");
                return;
            }
            var date = at.Date;
            dateFilters.Add(day => test(day, date));
        }
        var (to, from, status) = (Filter("To"), Filter("From"), Filter("Status"));

        TwilioFakeCall[] matching;
        lock (_gate)
        {
            // Twilio lists the newest calls first; a call not yet started matches no date filter.
            matching = _calls
                .Select(c => c.Snapshot())
                .Where(c => (to is null || c.To == to) && (from is null || c.From == from) && (status is null || c.Status == status))
                .Where(c => dateFilters.Count == 0 || (c.StartTime is { } start && dateFilters.All(f => f(start.UtcDateTime.Date))))
                .Reverse()
                .ToArray();
        }
        var pageSize = int.TryParse(query["PageSize"], out var asked) ? asked : 50;
        pageSize = Math.Clamp(pageSize, 1, Math.Max(Math.Min(MaxPageSize, 1000), 1));
        var pageNumber = int.TryParse(query["Page"], out var page) ? Math.Max(page, 0) : 0;
        var start = pageNumber * pageSize;
        var calls = matching.Skip(start).Take(pageSize).ToArray();
        string PageUri(int number) =>
            $"/{ApiVersion}/Accounts/{AccountSid}/Calls.json?" + string.Join("&", query
                .Where(q => q.Key is not ("Page" or "PageToken" or "PageSize"))
                .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}"))
                .Append($"PageSize={pageSize}")
                .Append($"Page={number}")
                .Concat(number > 0 ? new[] { $"PageToken=PA{number * pageSize}" } : []));
        var result = new Dictionary<string, object?>
        {
            ["calls"] = calls.Select(CallObject),
            ["end"] = start + Math.Max(calls.Length - 1, 0),
            ["first_page_uri"] = PageUri(0),
            ["next_page_uri"] = start + pageSize < matching.Length ? PageUri(pageNumber + 1) : null,
            ["page"] = pageNumber,
            ["page_size"] = pageSize,
            ["previous_page_uri"] = pageNumber > 0 ? PageUri(pageNumber - 1) : null,
            ["start"] = start,
            ["uri"] = PageUri(pageNumber),
        };
        await WriteAsync(context, 200, JsonSerializer.Serialize(result));
    }

    private TwilioFakeCall CreateCall(TwilioCreateRequest info)
    {
        var outcome = CallOutcome(info);
        if (!TerminalOutcomes.Contains(outcome))
            throw new InvalidOperationException($"CallOutcome '{outcome}' is none of {string.Join(", ", TerminalOutcomes)}.");
        var now = _clock.GetUtcNow();
        var call = new CallState("CA" + Guid.NewGuid().ToString("N"), info, now);
        TwilioFakeCall snapshot;
        lock (_gate)
        {
            _calls.Add(call);
            snapshot = call.Snapshot();
        }
        var answeredBy = string.IsNullOrEmpty(info.MachineDetection) ? null : AnsweredBy(info);
        var duration = CallDuration(info);
        // Off the request thread, so the 201 is not held up by the first callbacks (which may still beat it, as on Twilio).
        _server.Track(Task.Run(() => PlayAsync(call, info, outcome, duration, answeredBy)));
        return snapshot;
    }

    // initiated (0), ringing (1), answered (2, completed calls only), then the terminal status; each
    // sent only when subscribed to, as Twilio does (the terminal one under "completed").
    private async Task PlayAsync(CallState call, TwilioCreateRequest info, string outcome, TimeSpan duration, string? answeredBy)
    {
        var held = new List<KeyValuePair<string, string>[]>();
        var sequence = 0;
        IReadOnlyList<string> subscribed = info.StatusCallbackEvents.Count == 0 ? ["completed"] : info.StatusCallbackEvents;

        async Task StepAsync(string @event, string callStatus, string resourceStatus, Action<CallState>? change = null, params KeyValuePair<string, string>[] extra)
        {
            lock (_gate)
            {
                call.Status = resourceStatus;
                change?.Invoke(call);
            }
            if (string.IsNullOrEmpty(info.StatusCallback) || !subscribed.Contains(@event)) return;
            var form = CallbackForm(call, info, callStatus, sequence++, extra);
            if (ShuffleCallbacks) held.Add(form);
            else await DeliverAsync(info.StatusCallback, form, null);
        }

        var answered = outcome == "completed";
        var answeredFields = answered && answeredBy is not null ? new KeyValuePair<string, string>[] { new("AnsweredBy", answeredBy) } : [];
        await StepAsync("initiated", "initiated", "queued");
        await StepAsync("ringing", "ringing", "ringing");
        if (answered) await StepAsync("answered", "in-progress", "in-progress", c => c.AnsweredBy = answeredBy, answeredFields);
        await Task.Delay(duration, _clock, _server.Stopping);
        var seconds = answered ? (int)Math.Ceiling(duration.TotalSeconds) : 0;
        var terminalFields = answered
            ? answeredFields.Append(new("CallDuration", seconds.ToString(CultureInfo.InvariantCulture))).ToArray()
            : [];
        await StepAsync("completed", outcome, outcome, c =>
        {
            c.EndTime = _clock.GetUtcNow();
            c.DurationSeconds = seconds;
        }, terminalFields);

        held.Reverse();
        foreach (var form in held) await DeliverAsync(info.StatusCallback!, form, null);
    }

    private KeyValuePair<string, string>[] CallbackForm(
        CallState call, TwilioCreateRequest info, string callStatus, int sequence, KeyValuePair<string, string>[] extra) =>
    [
        new("CallSid", call.Sid),
        new("AccountSid", AccountSid),
        new("From", info.From ?? ""),
        new("To", info.To ?? ""),
        new("CallStatus", callStatus),
        new("Direction", "outbound-api"),
        new("SequenceNumber", sequence.ToString(CultureInfo.InvariantCulture)),
        new("Timestamp", _clock.GetUtcNow().ToString("r", CultureInfo.InvariantCulture)),
        new("CallbackSource", "call-progress-events"),
        new("ApiVersion", ApiVersion),
        .. extra,
    ];

    private async Task<TwilioCallbackDelivery> DeliverAsync(string url, KeyValuePair<string, string>[] form, string? signature)
    {
        // Twilio signs the URL exactly as it was given, query string and all.
        signature ??= TwilioCallbackSignature.Sign(AuthToken, url, form);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        if (signature.Length > 0) request.Headers.TryAddWithoutValidation(TwilioCallbackSignature.HeaderName, signature);
        string? Field(string name) => form.Where(p => p.Key == name).Select(p => p.Value).FirstOrDefault();
        int? sequence = int.TryParse(Field("SequenceNumber"), out var n) ? n : null;
        TwilioCallbackDelivery delivery;
        try
        {
            using var response = await _callbacks.SendAsync(request, _server.Stopping);
            delivery = new TwilioCallbackDelivery(url, Field("CallSid"), Field("CallStatus"), sequence, form,
                signature.Length > 0 ? signature : null, (int)response.StatusCode, null, _clock.GetUtcNow());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            delivery = new TwilioCallbackDelivery(url, Field("CallSid"), Field("CallStatus"), sequence, form,
                signature.Length > 0 ? signature : null, null, e.Message, _clock.GetUtcNow());
        }
        lock (_gate) _deliveries.Add(delivery);
        return delivery;
    }

    // The presented user name, and whether it came with the matching secret.
    private (string? User, bool Authenticated) Authenticate(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return (null, false);
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return (null, false);
        }
        var colon = decoded.IndexOf(':');
        if (colon < 0) return (decoded, false);
        var (user, secret) = (decoded[..colon], decoded[(colon + 1)..]);
        var valid = (user == AccountSid && secret == AuthToken && AuthToken.Length > 0)
            || (ApiKeySid is not null && user == ApiKeySid && secret == ApiKeySecret);
        return (user, valid);
    }

    private static Task WriteUnauthorizedAsync(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Twilio API\"";
        return WriteErrorAsync(context, 401, 20003, "Authenticate");
    }

    private static Task WriteErrorAsync(HttpContext context, int status, int code, string message) =>
        WriteAsync(context, status, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["code"] = code,
            ["message"] = message,
            ["more_info"] = $"https://www.twilio.com/docs/errors/{code}",
            ["status"] = status,
        }));

    private static async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
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

    private static string? Rfc2822(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);

    // Field for field the api.v2010.account.call resource, in Twilio's own snake_case.
    private object CallObject(TwilioFakeCall call)
    {
        var uri = $"/{ApiVersion}/Accounts/{AccountSid}/Calls/{call.Sid}";
        return new Dictionary<string, object?>
        {
            ["sid"] = call.Sid,
            ["date_created"] = Rfc2822(call.Created),
            ["date_updated"] = Rfc2822(call.EndTime ?? call.Created),
            ["parent_call_sid"] = null,
            ["account_sid"] = AccountSid,
            ["to"] = call.To,
            ["to_formatted"] = call.To,
            ["from"] = call.From,
            ["from_formatted"] = call.From,
            ["phone_number_sid"] = null,
            ["status"] = call.Status,
            ["start_time"] = Rfc2822(call.StartTime),
            ["end_time"] = Rfc2822(call.EndTime),
            ["duration"] = call.DurationSeconds?.ToString(CultureInfo.InvariantCulture),
            ["price"] = null,
            ["price_unit"] = "USD",
            ["direction"] = "outbound-api",
            ["answered_by"] = call.AnsweredBy,
            ["api_version"] = ApiVersion,
            ["forwarded_from"] = null,
            ["group_sid"] = null,
            ["caller_name"] = null,
            ["queue_time"] = "0",
            ["trunk_sid"] = null,
            ["uri"] = uri + ".json",
            ["subresource_uris"] = new Dictionary<string, string>
            {
                ["events"] = uri + "/Events.json",
                ["notifications"] = uri + "/Notifications.json",
                ["recordings"] = uri + "/Recordings.json",
            },
        };
    }

    private string CallJson(TwilioFakeCall call) => JsonSerializer.Serialize(CallObject(call));

    private sealed class CallState(string sid, TwilioCreateRequest request, DateTimeOffset created)
    {
        public string Sid { get; } = sid;
        public string Status { get; set; } = "queued";
        public DateTimeOffset? EndTime { get; set; }
        public int? DurationSeconds { get; set; }
        public string? AnsweredBy { get; set; }

        // Started at creation: the fake dials at once, and a start time lets look-ups by date find the call.
        public TwilioFakeCall Snapshot() => new(
            Sid, request.To, request.From, Status, created, created, EndTime, DurationSeconds, AnsweredBy, request.Url, request.StatusCallback);
    }
}
