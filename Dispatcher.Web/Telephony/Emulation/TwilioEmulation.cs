using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding.Twilio;

namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// Twilio's 2010-04-01 Calls API as the onboarding job uses it: POST and GET
/// /2010-04-01/Accounts/{sid}/Calls.json with Basic auth (Account SID + Auth Token or an API key
/// pair), and for each created call a lifecycle (initiated, ringing, answered with the TwiML fetched
/// from Url when <see cref="FetchTwiml"/>, then completed, busy, no-answer or failed) whose status
/// callbacks are form POSTs to the request's StatusCallback, signed with <see cref="AuthToken"/> over
/// that exact URL. Creation answers come from <see cref="RespondNext"/>'s queue first, then
/// <see cref="OnCreate"/>. Timers run on the given clock. The tests start it on a port of its own
/// (<see cref="StartAsync"/>); simulated mode serves it under /simulator/twilio with random knobs.
/// </summary>
public sealed class TwilioEmulation(TimeProvider clock, EmulationActivity? activity = null) : IAsyncDisposable
{
    public const string CallsRoute = "/2010-04-01/Accounts/{accountSid}/Calls.json";
    private const string ApiVersion = "2010-04-01";
    private const string Provider = "twilio";
    private static readonly string[] TerminalOutcomes = ["completed", "busy", "no-answer", "failed", "canceled"];

    private readonly EmulationWork _work = new();
    private readonly HttpClient _callbacks = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentQueue<EmulatedAnswer> _queued = new();
    private readonly object _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<TwilioCreateRequest> _createRequests = [];
    private readonly List<CallState> _calls = [];
    private readonly List<TwilioCallbackDelivery> _deliveries = [];
    private EmulationHost? _host;
    private int _createCount;

    /// <summary>Where it listens, e.g. http://127.0.0.1:40123 (use as TwilioOptions.BaseUrl).</summary>
    public string BaseUrl { get; set; } = "";

    public string AccountSid { get; set; } = "AC0123456789abcdef0123456789abcdef";

    /// <summary>Accepted with <see cref="AccountSid"/> for Basic auth, and the key every status callback is signed with.</summary>
    public string AuthToken { get; set; } = "fake-twilio-auth-token";

    /// <summary>A second accepted Basic-auth pair, as an API key; null accepts none.</summary>
    public string? ApiKeySid { get; set; } = "SKfedcba9876543210fedcba9876543210";

    public string? ApiKeySecret { get; set; } = "fake-twilio-api-key-secret";

    public Func<TwilioCreateRequest, EmulatedAnswer> OnCreate { get; set; } = _ => new EmulatedAnswer.Create();

    /// <summary>How each created call ends: completed (answered), busy, no-answer, failed or canceled.</summary>
    public Func<TwilioCreateRequest, string> CallOutcome { get; set; } = _ => "completed";

    /// <summary>From ringing until answered, or until the unanswered outcome.</summary>
    public Func<TwilioCreateRequest, TimeSpan> RingFor { get; set; } = _ => TimeSpan.Zero;

    /// <summary>From the last progress callback to the terminal one; for a completed call, its talk time.</summary>
    public Func<TwilioCreateRequest, TimeSpan> CallDuration { get; set; } = _ => TimeSpan.FromSeconds(1);

    /// <summary>AnsweredBy for answered calls that asked for MachineDetection.</summary>
    public Func<TwilioCreateRequest, string> AnsweredBy { get; set; } = _ => "human";

    /// <summary>
    /// Fetches the TwiML at the call's Url (a signed POST) as it is answered, as Twilio does; a page
    /// it cannot use ends the call after a second. Off: tests that want the TwiML fetch it themselves.
    /// </summary>
    public bool FetchTwiml { get; set; }

    /// <summary>Holds each call's callbacks until its end and delivers them newest first, to exercise out-of-order handling.</summary>
    public bool ShuffleCallbacks { get; set; }

    /// <summary>
    /// Copies of each status callback sent, asked per callback: 0 loses it on the way, 2 delivers it
    /// twice (the fault drill's lost and duplicated webhooks).
    /// </summary>
    public Func<int> CallbackCopies { get; set; } = () => 1;

    /// <summary>Refuses (400, 21211/21212) a To or From that is not E.164, as Twilio does.</summary>
    public bool RequireE164 { get; set; }

    /// <summary>Caps the client's PageSize on GET Calls.json, to exercise paging.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Keeps every request and callback for tests to assert on; off in a long-running simulator.</summary>
    public bool KeepRecords { get; set; } = true;

    /// <summary>Ended calls older than this are forgotten (null keeps them all), so a long-running simulator stays small.</summary>
    public TimeSpan? ForgetEndedCallsAfter { get; set; }

    /// <summary>Starts one on its own Kestrel port at 127.0.0.1, as the tests and benchmarks use it.</summary>
    public static async Task<TwilioEmulation> StartAsync(TimeProvider? clock = null)
    {
        var emulation = new TwilioEmulation(clock ?? TimeProvider.System);
        emulation._host = await EmulationHost.StartAsync(emulation.Map);
        emulation.BaseUrl = emulation._host.BaseUrl;
        return emulation;
    }

    /// <summary>Twilio's routes (/2010-04-01/...) on <paramref name="routes"/>, which may be a group under a prefix.</summary>
    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapPost(CallsRoute, (RequestDelegate)CreateAsync);
        routes.MapGet(CallsRoute, (RequestDelegate)ListAsync);
    }

    public IReadOnlyList<RecordedRequest> Requests
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

    /// <summary>Every call created (and not forgotten), in creation order.</summary>
    public IReadOnlyList<EmulatedTwilioCall> Calls
    {
        get { lock (_gate) return _calls.Select(c => c.Snapshot()).ToArray(); }
    }

    /// <summary>Every status callback sent so far, in the order they were answered.</summary>
    public IReadOnlyList<TwilioCallbackDelivery> CallbackDeliveries
    {
        get { lock (_gate) return _deliveries.ToArray(); }
    }

    /// <summary>Answers the next creation requests with these, in order, before <see cref="OnCreate"/> is asked again.</summary>
    public void RespondNext(params EmulatedAnswer[] answers)
    {
        foreach (var answer in answers) _queued.Enqueue(answer);
    }

    /// <summary>Waits until every call has ended and every callback has been delivered (or has failed).</summary>
    public async Task WaitUntilIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_work.Pending > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{_work.Pending} call lifecycles or deliveries still pending after {timeout}.");
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

    /// <summary>A Twilio error body, e.g. for <c>new EmulatedAnswer.Reject(400, ErrorBody(400, 21211, "…"))</c>.</summary>
    public static string ErrorBody(int status, int code, string message) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["code"] = code,
        ["message"] = message,
        ["more_info"] = $"https://www.twilio.com/docs/errors/{code}",
        ["status"] = status,
    });

    /// <summary>Ends the calls' lifecycles and deliveries, as the process going away would.</summary>
    public void Stop() => _work.Stop();

    public async ValueTask DisposeAsync()
    {
        _work.Stop();
        if (_host is not null) await _host.DisposeAsync();
        await _work.DisposeAsync();
        _callbacks.Dispose();
    }

    private async Task<RecordedRequest> RecordAsync(HttpContext context)
    {
        var request = await RecordedRequest.ReadAsync(context, clock.GetUtcNow());
        if (KeepRecords) lock (_gate) _requests.Add(request);
        return request;
    }

    private async Task CreateAsync(HttpContext context)
    {
        var form = (await RecordAsync(context)).Form;
        string? Value(string name) => form.Where(p => p.Key == name).Select(p => p.Value).FirstOrDefault();
        var (user, authenticated) = Authenticate(context);
        var info = new TwilioCreateRequest(
            Interlocked.Increment(ref _createCount),
            (string)context.Request.RouteValues["accountSid"]!,
            user,
            Value("To"),
            Value("From"),
            Value("Url"),
            Value("StatusCallback"),
            form.Where(p => p.Key == "StatusCallbackEvent").Select(p => p.Value).ToArray(),
            Value("MachineDetection"),
            form,
            clock.GetUtcNow());
        if (KeepRecords) lock (_gate) _createRequests.Add(info);

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
        if (RequireE164 && !PhoneNumber.IsE164(info.To))
        {
            await WriteErrorAsync(context, 400, 21211, $"The 'To' number {info.To} is not a valid phone number.");
            return;
        }
        if (RequireE164 && !PhoneNumber.IsE164(info.From))
        {
            await WriteErrorAsync(context, 400, 21212, $"The 'From' number {info.From} is not a valid phone number.");
            return;
        }
        if (string.IsNullOrEmpty(info.Url) && string.IsNullOrEmpty(Value("Twiml")) && string.IsNullOrEmpty(Value("ApplicationSid")))
        {
            await WriteErrorAsync(context, 400, 21205, "Url parameter is required.");
            return;
        }

        var answer = _queued.TryDequeue(out var queued) ? queued : OnCreate(info);
        switch (answer)
        {
            case EmulatedAnswer.Create:
                await WriteAsync(context, 201, CallJson(CreateCall(info)));
                break;
            case EmulatedAnswer.RateLimit limit:
                activity?.Count(Provider, "rate-limited");
                if (limit.RetryAfter is not null) context.Response.Headers.RetryAfter = limit.RetryAfter;
                await WriteErrorAsync(context, limit.Status, 20429, "Too Many Requests");
                break;
            case EmulatedAnswer.Reject reject:
                await WriteAsync(context, reject.Status, reject.Body);
                break;
            case EmulatedAnswer.ServerError error:
                await WriteErrorAsync(context, error.Status, 20500, "An internal server error has occurred");
                break;
            case EmulatedAnswer.Hang hang:
                await HangAsync(context, hang, info);
                break;
            case EmulatedAnswer.Drop drop:
                if (drop.CreateCall) CreateCall(info);
                context.Abort();
                break;
            default:
                throw new InvalidOperationException($"Unknown answer {answer}.");
        }
    }

    private async Task HangAsync(HttpContext context, EmulatedAnswer.Hang hang, TwilioCreateRequest info)
    {
        if (!await _work.HoldAsync(context, hang.Duration, clock)) return;
        var call = hang.CreateCall ? CreateCall(info) : null;
        if (context.RequestAborted.IsCancellationRequested) return;
        if (call is null)
            await WriteErrorAsync(context, 504, 20500, "Gateway timeout");
        else
            await WriteAsync(context, 201, CallJson(call));
    }

    private async Task ListAsync(HttpContext context)
    {
        await RecordAsync(context);
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

        EmulatedTwilioCall[] matching;
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
        // Relative to the host, as Twilio's are; the path is this request's, under whatever prefix the emulation is served.
        string PageUri(int number) =>
            $"{context.Request.PathBase}{context.Request.Path}?" + string.Join("&", query
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

    private EmulatedTwilioCall CreateCall(TwilioCreateRequest info)
    {
        var outcome = CallOutcome(info);
        if (!TerminalOutcomes.Contains(outcome))
            throw new InvalidOperationException($"CallOutcome '{outcome}' is none of {string.Join(", ", TerminalOutcomes)}.");
        var now = clock.GetUtcNow();
        var call = new CallState("CA" + Guid.NewGuid().ToString("N"), info, now);
        EmulatedTwilioCall snapshot;
        lock (_gate)
        {
            ForgetEndedCalls(now);
            _calls.Add(call);
            snapshot = call.Snapshot();
        }
        activity?.Count(Provider, "created");
        var answeredBy = string.IsNullOrEmpty(info.MachineDetection) ? null : AnsweredBy(info);
        var ringing = RingFor(info);
        var duration = CallDuration(info);
        // Off the request thread, so the 201 is not held up by the first callbacks (which may still beat it, as on Twilio).
        _work.Track(Task.Run(() => PlayAsync(call, info, outcome, ringing, duration, answeredBy)));
        return snapshot;
    }

    // initiated (0), ringing (1), answered (2, completed calls only), then the terminal status; each
    // sent only when subscribed to, as Twilio does (the terminal one under "completed").
    private async Task PlayAsync(CallState call, TwilioCreateRequest info, string outcome, TimeSpan ringing, TimeSpan duration, string? answeredBy)
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
            else await DeliverCopiesAsync(info.StatusCallback, form);
        }

        var answered = outcome == "completed";
        var answeredFields = answered && answeredBy is not null ? new KeyValuePair<string, string>[] { new("AnsweredBy", answeredBy) } : [];
        await StepAsync("initiated", "initiated", "queued");
        await StepAsync("ringing", "ringing", "ringing");
        if (ringing > TimeSpan.Zero) await Task.Delay(ringing, clock, _work.Stopping);
        // Twilio asks for the call's instructions as it connects; a page it cannot use ends the call at once.
        if (answered && FetchTwiml && !await FetchTwimlAsync(call, info)) duration = TimeSpan.FromSeconds(1);
        if (answered) await StepAsync("answered", "in-progress", "in-progress", c => c.AnsweredBy = answeredBy, answeredFields);
        await Task.Delay(duration, clock, _work.Stopping);
        var seconds = answered ? (int)Math.Ceiling(duration.TotalSeconds) : 0;
        var terminalFields = answered
            ? answeredFields.Append(new("CallDuration", seconds.ToString(CultureInfo.InvariantCulture))).ToArray()
            : [];
        activity?.Count(Provider, "ended:" + outcome);
        await StepAsync("completed", outcome, outcome, c =>
        {
            c.EndTime = clock.GetUtcNow();
            c.DurationSeconds = seconds;
        }, terminalFields);

        held.Reverse();
        foreach (var form in held) await DeliverCopiesAsync(info.StatusCallback!, form);
    }

    private async Task<bool> FetchTwimlAsync(CallState call, TwilioCreateRequest info)
    {
        if (string.IsNullOrEmpty(info.Url)) return false;
        KeyValuePair<string, string>[] form = [.. CallbackForm(call, info, "in-progress", 0, []).Where(p => p.Key is not ("SequenceNumber" or "Timestamp" or "CallbackSource"))];
        using var request = new HttpRequestMessage(HttpMethod.Post, info.Url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.TryAddWithoutValidation(TwilioCallbackSignature.HeaderName, TwilioCallbackSignature.Sign(AuthToken, info.Url, form));
        try
        {
            using var response = await _callbacks.SendAsync(request, _work.Stopping);
            var twiml = await response.Content.ReadAsStringAsync(_work.Stopping);
            var usable = response.IsSuccessStatusCode && twiml.Contains("<Response", StringComparison.Ordinal);
            activity?.Count(Provider, usable ? "twiml:ok" : $"twiml:{(int)response.StatusCode}");
            return usable;
        }
        catch (HttpRequestException)
        {
            activity?.Count(Provider, "twiml:unreachable");
            return false;
        }
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
        new("Timestamp", clock.GetUtcNow().ToString("r", CultureInfo.InvariantCulture)),
        new("CallbackSource", "call-progress-events"),
        new("ApiVersion", ApiVersion),
        .. extra,
    ];

    private async Task DeliverCopiesAsync(string url, KeyValuePair<string, string>[] form)
    {
        for (var copies = CallbackCopies(); copies > 0; copies--) await DeliverAsync(url, form, null);
    }

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
            using var response = await _callbacks.SendAsync(request, _work.Stopping);
            delivery = new TwilioCallbackDelivery(url, Field("CallSid"), Field("CallStatus"), sequence, form,
                signature.Length > 0 ? signature : null, (int)response.StatusCode, null, clock.GetUtcNow());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            delivery = new TwilioCallbackDelivery(url, Field("CallSid"), Field("CallStatus"), sequence, form,
                signature.Length > 0 ? signature : null, null, e.Message, clock.GetUtcNow());
        }
        activity?.Count(Provider, delivery.Status is { } status ? $"callback:{status}" : "callback:unreachable");
        if (KeepRecords) lock (_gate) _deliveries.Add(delivery);
        return delivery;
    }

    // Under _gate.
    private void ForgetEndedCalls(DateTimeOffset now)
    {
        if (ForgetEndedCallsAfter is not { } keep) return;
        var before = now - keep;
        _calls.RemoveAll(c => c.EndTime < before);
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
        WriteAsync(context, status, ErrorBody(status, code, message));

    private static async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static string? Rfc2822(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);

    // Field for field the api.v2010.account.call resource, in Twilio's own snake_case.
    private object CallObject(EmulatedTwilioCall call)
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

    private string CallJson(EmulatedTwilioCall call) => JsonSerializer.Serialize(CallObject(call));

    private sealed class CallState(string sid, TwilioCreateRequest request, DateTimeOffset created)
    {
        public string Sid { get; } = sid;
        public string Status { get; set; } = "queued";
        public DateTimeOffset? EndTime { get; set; }
        public int? DurationSeconds { get; set; }
        public string? AnsweredBy { get; set; }

        // Started at creation: it dials at once, and a start time lets look-ups by date find the call.
        public EmulatedTwilioCall Snapshot() => new(
            Sid, request.To, request.From, Status, created, created, EndTime, DurationSeconds, AnsweredBy, request.Url, request.StatusCallback);
    }
}
