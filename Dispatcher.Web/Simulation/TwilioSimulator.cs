using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding.Twilio;

namespace Dispatcher.Web.Simulation;

/// <summary>
/// Twilio's 2010-04-01 Calls API as the onboarding job uses it, served by this process under
/// /simulator/twilio: Basic auth, form-encoded call creation, then as Twilio does: status
/// callbacks (initiated, ringing, answered, completed) signed with X-Twilio-Signature, the TwiML
/// fetched from the call's Url once answered; busy, no-answer and failed calls; now and then a
/// 429 (code 20429). Calls are kept in memory.
/// </summary>
public sealed class TwilioSimulator(SimulatorOptions options, TwilioOptions account, SimulatorActivity activity, TimeProvider clock,
    IHostApplicationLifetime lifetime, ILogger<TwilioSimulator> logger) : IDisposable
{
    public const string Prefix = "/simulator/twilio";
    private const string Provider = "twilio";
    private const string ApiVersion = "2010-04-01";
    private static readonly TimeSpan KeepEndedCalls = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, SimulatedCall> _calls = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(15) };

    public static void Map(IEndpointRouteBuilder routes)
    {
        var calls = routes.MapGroup($"{Prefix}/{ApiVersion}/Accounts/{{accountSid}}/Calls.json").ExcludeFromDescription().DisableAntiforgery();
        calls.MapPost("", (HttpContext context, string accountSid, TwilioSimulator simulator) => simulator.CreateAsync(context, accountSid));
        calls.MapGet("", (HttpContext context, string accountSid, TwilioSimulator simulator) => simulator.List(context, accountSid));
    }

    private async Task<IResult> CreateAsync(HttpContext context, string accountSid)
    {
        if (Refused(context, accountSid) is { } refusal) return refusal;
        if (!context.Request.HasFormContentType) return Error(400, 20001, "Expected application/x-www-form-urlencoded parameters");
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var to = form["To"].ToString();
        var from = form["From"].ToString();
        var url = form["Url"].ToString();
        if (!PhoneNumber.IsE164(to)) return Error(400, 21211, $"The 'To' number {to} is not a valid phone number.");
        if (!PhoneNumber.IsE164(from)) return Error(400, 21212, $"The 'From' number {from} is not a valid phone number.");
        if (!Uri.TryCreate(url, UriKind.Absolute, out _)) return Error(400, 21205, "Url is not a valid URL.");
        if (Random.Shared.Next(100) < options.RateLimitPercent)
        {
            activity.Count(Provider, "rate-limited");
            return Error(429, 20429, "Too Many Requests");
        }

        var events = form["StatusCallbackEvent"].Select(e => e ?? "").Where(e => e.Length > 0).ToArray();
        var call = new SimulatedCall("CA" + Guid.NewGuid().ToString("N"), to, from, url, form["StatusCallback"].ToString() is { Length: > 0 } callback ? callback : null,
            events.Length == 0 ? ["completed"] : events, clock.GetUtcNow());
        _calls[call.Sid] = call;
        activity.Count(Provider, "created");
        ForgetOldCalls();
        _ = Task.Run(() => PlayAsync(call));
        return Results.Json(CallObject(call), statusCode: 201);
    }

    private IResult List(HttpContext context, string accountSid)
    {
        if (Refused(context, accountSid) is { } refusal) return refusal;
        var query = context.Request.Query;
        string? Filter(string name) => query[name].ToString() is { Length: > 0 } value ? value : null;
        var (to, status) = (Filter("To"), Filter("Status"));
        DateTime? startedOnOrAfter = null;
        if (Filter("StartTime>") is { } date)
        {
            // A date, or the date-time the Twilio SDK sends; Twilio compares dates.
            if (!DateTime.TryParseExact(date, ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm:ssZ"], CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day))
                return Error(400, 20001, $"Invalid StartTime>: '{date}' is not a date as YYYY-MM-DD");
            startedOnOrAfter = day.Date;
        }
        var matching = _calls.Values
            .Where(c => (to is null || c.To == to) && (status is null || c.Status == status))
            .Where(c => startedOnOrAfter is null || c.Created.UtcDateTime.Date >= startedOnOrAfter)
            .OrderByDescending(c => c.Created)
            .ToList();
        var pageSize = int.TryParse(query["PageSize"], out var size) ? Math.Clamp(size, 1, 1000) : 50;
        var page = int.TryParse(query["Page"], out var number) ? Math.Max(number, 0) : 0;
        string PageUri(int at) => $"{Prefix}/{ApiVersion}/Accounts/{account.AccountSid}/Calls.json?" + string.Join("&", query
            .Where(q => q.Key is not ("Page" or "PageSize" or "PageToken"))
            .Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}")
            .Append($"PageSize={pageSize}").Append($"Page={at}"));
        return Results.Json(new Dictionary<string, object?>
        {
            ["calls"] = matching.Skip(page * pageSize).Take(pageSize).Select(CallObject),
            ["page"] = page,
            ["page_size"] = pageSize,
            ["first_page_uri"] = PageUri(0),
            ["next_page_uri"] = (page + 1) * pageSize < matching.Count ? PageUri(page + 1) : null,
            ["previous_page_uri"] = page > 0 ? PageUri(page - 1) : null,
            ["uri"] = PageUri(page),
        });
    }

    // initiated, ringing; then busy, no-answer or failed, or answered: TwiML fetched, a conversation, completed.
    private async Task PlayAsync(SimulatedCall call)
    {
        var stopping = lifetime.ApplicationStopping;
        var sequence = 0;
        // The call resource's status follows the callback's, except "initiated", which the resource shows as "queued".
        async Task StepAsync(string @event, string status, params (string, string)[] extra)
        {
            call.Status = status == "initiated" ? "queued" : status;
            if (call.StatusCallback is null || !call.Events.Contains(@event)) return;
            await CallBackAsync(call, status, sequence++, extra, stopping);
        }
        try
        {
            await StepAsync("initiated", "initiated");
            await Task.Delay(TimeSpan.FromMilliseconds(200 + Random.Shared.Next(300)), clock, stopping);
            call.Started = clock.GetUtcNow();
            await StepAsync("ringing", "ringing");
            var roll = Random.Shared.Next(100);
            string outcome;
            var seconds = 0;
            if (call.To == SimulatorOptions.NobodyAnswers)
                outcome = "busy";
            else if (roll < options.NoAnswerPercent)
            {
                outcome = Random.Shared.Next(4) == 0 ? "busy" : "no-answer";
                await Task.Delay(options.AnswerAfter.Draw(Random.Shared) + TimeSpan.FromSeconds(outcome == "busy" ? 0 : options.AnswerAfter.Max), clock, stopping);
            }
            else if (roll < options.NoAnswerPercent + options.FailurePercent)
            {
                outcome = "failed";
                await Task.Delay(TimeSpan.FromSeconds(0.5 + Random.Shared.NextDouble()), clock, stopping);
            }
            else
            {
                outcome = "completed";
                await Task.Delay(options.AnswerAfter.Draw(Random.Shared), clock, stopping);
                var answeredAt = clock.GetUtcNow();
                // Twilio asks for the call's instructions as it connects; a page it cannot use ends the call at once.
                var talk = await FetchTwimlAsync(call, stopping) ? options.CallLasts.Draw(Random.Shared) : TimeSpan.FromSeconds(1);
                await StepAsync("answered", "in-progress");
                await Task.Delay(talk, clock, stopping);
                seconds = (int)Math.Ceiling((clock.GetUtcNow() - answeredAt).TotalSeconds);
            }
            call.Ended = clock.GetUtcNow();
            call.DurationSeconds = seconds;
            activity.Count(Provider, "ended:" + outcome);
            await StepAsync("completed", outcome, outcome == "completed" ? [("CallDuration", seconds.ToString(CultureInfo.InvariantCulture))] : []);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The service stops: the simulated provider goes away with it, calls and all.
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Simulated Twilio call {CallSid} failed", call.Sid);
        }
    }

    private async Task<bool> FetchTwimlAsync(SimulatedCall call, CancellationToken ct)
    {
        var form = Fields(call, "in-progress", []);
        try
        {
            using var response = await SendSignedAsync(call.Url, form, ct);
            var twiml = await response.Content.ReadAsStringAsync(ct);
            if (response.IsSuccessStatusCode && twiml.Contains("<Response", StringComparison.Ordinal))
            {
                activity.Count(Provider, "twiml:ok");
                return true;
            }
            activity.Count(Provider, $"twiml:{(int)response.StatusCode}");
            logger.LogWarning("Simulated Twilio: TwiML for {CallSid} from {Url} was unusable ({Status}): the caller hears an application error", call.Sid, call.Url, (int)response.StatusCode);
        }
        catch (HttpRequestException ex)
        {
            activity.Count(Provider, "twiml:unreachable");
            logger.LogWarning("Simulated Twilio: TwiML for {CallSid} could not be fetched from {Url}: {Error}", call.Sid, call.Url, ex.Message);
        }
        return false;
    }

    private async Task CallBackAsync(SimulatedCall call, string status, int sequence, (string, string)[] extra, CancellationToken ct)
    {
        var form = Fields(call, status, [
            ("SequenceNumber", sequence.ToString(CultureInfo.InvariantCulture)),
            ("Timestamp", clock.GetUtcNow().ToString("r", CultureInfo.InvariantCulture)),
            ("CallbackSource", "call-progress-events"),
            .. extra]);
        try
        {
            using var response = await SendSignedAsync(call.StatusCallback!, form, ct);
            activity.Count(Provider, $"callback:{(int)response.StatusCode}");
            if (!response.IsSuccessStatusCode)
                logger.LogWarning("Simulated Twilio: status callback {Status} for {CallSid} answered {Code}", status, call.Sid, (int)response.StatusCode);
        }
        catch (HttpRequestException ex)
        {
            activity.Count(Provider, "callback:unreachable");
            logger.LogWarning("Simulated Twilio: status callback for {CallSid} could not be delivered: {Error}", call.Sid, ex.Message);
        }
    }

    // Signed over the URL exactly as it was given, query string and all, as Twilio signs.
    private async Task<HttpResponseMessage> SendSignedAsync(string url, List<KeyValuePair<string, string>> form, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add(TwilioCallbackSignature.HeaderName, TwilioCallbackSignature.Sign(account.AuthToken, url, form));
        return await _http.SendAsync(request, ct);
    }

    private List<KeyValuePair<string, string>> Fields(SimulatedCall call, string status, (string Name, string Value)[] extra) =>
    [
        new("CallSid", call.Sid),
        new("AccountSid", account.AccountSid),
        new("From", call.From),
        new("To", call.To),
        new("CallStatus", status),
        new("Direction", "outbound-api"),
        new("ApiVersion", ApiVersion),
        .. extra.Select(e => new KeyValuePair<string, string>(e.Name, e.Value)),
    ];

    // Basic auth with the account's SID and token (or its API key), and the account in the path.
    private IResult? Refused(HttpContext context, string accountSid)
    {
        var header = context.Request.Headers.Authorization.ToString();
        string? decoded = null;
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())); }
            catch (FormatException) { }
        }
        var valid = decoded == $"{account.AccountSid}:{account.AuthToken}"
            || (account.ApiKeySid is not null && decoded == $"{account.ApiKeySid}:{account.ApiKeySecret}");
        if (!valid)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Twilio API\"";
            return Error(401, 20003, "Authenticate");
        }
        return accountSid == account.AccountSid ? null
            : Error(404, 20404, $"The requested resource /{ApiVersion}/Accounts/{accountSid}/Calls.json was not found");
    }

    private void ForgetOldCalls()
    {
        if (Random.Shared.Next(100) != 0) return;
        var before = clock.GetUtcNow() - KeepEndedCalls;
        foreach (var (sid, call) in _calls)
            if (call.Ended < before) _calls.TryRemove(sid, out _);
    }

    private static IResult Error(int status, int code, string message) => Results.Json(new Dictionary<string, object>
    {
        ["code"] = code,
        ["message"] = message,
        ["more_info"] = $"https://www.twilio.com/docs/errors/{code}",
        ["status"] = status,
    }, statusCode: status);

    private static string? Rfc2822(DateTimeOffset? at) => at?.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);

    private Dictionary<string, object?> CallObject(SimulatedCall call) => new()
    {
        ["sid"] = call.Sid,
        ["account_sid"] = account.AccountSid,
        ["date_created"] = Rfc2822(call.Created),
        ["date_updated"] = Rfc2822(call.Ended ?? call.Started ?? call.Created),
        ["to"] = call.To,
        ["from"] = call.From,
        ["status"] = call.Status,
        ["start_time"] = Rfc2822(call.Started),
        ["end_time"] = Rfc2822(call.Ended),
        ["duration"] = call.DurationSeconds?.ToString(CultureInfo.InvariantCulture),
        ["direction"] = "outbound-api",
        ["api_version"] = ApiVersion,
        ["queue_time"] = "0",
        ["uri"] = $"/{ApiVersion}/Accounts/{account.AccountSid}/Calls/{call.Sid}.json",
    };

    public void Dispose() => _http.Dispose();

    private sealed class SimulatedCall(string sid, string to, string from, string url, string? statusCallback, IReadOnlyList<string> events, DateTimeOffset created)
    {
        public string Sid { get; } = sid;
        public string To { get; } = to;
        public string From { get; } = from;
        public string Url { get; } = url;
        public string? StatusCallback { get; } = statusCallback;
        public IReadOnlyList<string> Events { get; } = events;
        public DateTimeOffset Created { get; } = created;
        public volatile string Status = "queued";
        public DateTimeOffset? Started { get; set; }
        public DateTimeOffset? Ended { get; set; }
        public int? DurationSeconds { get; set; }
    }
}
