using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Campaigns.Ultravox;

namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// Ultravox's call API as the campaign dialler uses it: agent call creation, look-ups by id and by
/// metadata (paged), calls that ring, are answered or not and end on their own, and signed
/// call.ended webhooks to <see cref="WebhookUrl"/>, retried until a 2xx. Creation answers come from
/// <see cref="RespondNext"/>'s queue first, then <see cref="OnCreate"/>. Timers run on the given clock.
/// The tests start it on a port of its own (<see cref="StartAsync"/>); simulated mode serves it
/// under /simulator/ultravox with random knobs.
/// </summary>
public sealed class UltravoxEmulation(TimeProvider clock, EmulationActivity? activity = null) : IAsyncDisposable
{
    public const string SignatureHeader = "X-Ultravox-Webhook-Signature";
    public const string TimestampHeader = "X-Ultravox-Webhook-Timestamp";
    private const string Provider = "ultravox";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly EmulationWork _work = new();
    private readonly HttpClient _webhooks = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentQueue<EmulatedAnswer> _queued = new();
    private readonly object _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<UltravoxCreateRequest> _createRequests = [];
    private readonly List<CallState> _calls = [];
    private readonly Dictionary<string, CallState> _callsById = [];
    private readonly Dictionary<string, int> _liveByKey = [];
    private readonly Dictionary<string, int> _maxLiveByKey = [];
    private readonly List<WebhookDelivery> _deliveries = [];
    private EmulationHost? _host;
    private int _createCount;
    private int _liveCalls;
    private int _maxLiveCalls;

    /// <summary>Where it listens, e.g. http://127.0.0.1:40123 (use as UltravoxOptions.BaseUrl).</summary>
    public string BaseUrl { get; set; } = "";

    public Func<UltravoxCreateRequest, EmulatedAnswer> OnCreate { get; set; } = _ => new EmulatedAnswer.Create();

    /// <summary>From creation until the call is answered (joined); a call that ends first never joins.</summary>
    public Func<UltravoxCreateRequest, TimeSpan> AnswerAfter { get; set; } = _ => TimeSpan.Zero;

    /// <summary>From creation until the call ends.</summary>
    public Func<UltravoxCreateRequest, TimeSpan> CallDuration { get; set; } = _ => TimeSpan.FromSeconds(1);

    /// <summary>Asked as the call ends: hangup, agent_hangup, unjoined (never joined), connection_error…</summary>
    public Func<UltravoxCreateRequest, string> EndReason { get; set; } = _ => "hangup";

    /// <summary>Where call.ended webhooks go; null sends none.</summary>
    public string? WebhookUrl { get; set; }

    public string WebhookSecret { get; set; } = "fake-ultravox-webhook-secret";

    /// <summary>Tries per webhook: each signed anew, the next after a pause that doubles from <see cref="WebhookRetryPause"/>, until a 2xx.</summary>
    public int WebhookAttempts { get; set; } = 1;

    public TimeSpan WebhookRetryPause { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Copies of each call.ended sent, asked per call: 0 loses it on the way (no try at all), 2 delivers
    /// it twice (the fault drill's lost and duplicated webhooks).
    /// </summary>
    public Func<int> WebhookCopies { get; set; } = () => 1;

    /// <summary>When set, any other X-API-Key is answered 401, as Ultravox answers an unknown key.</summary>
    public IReadOnlySet<string>? AcceptedApiKeys { get; set; }

    /// <summary>Refuses (400) a to or from that is not E.164, as Telnyx would.</summary>
    public bool RequireE164 { get; set; }

    /// <summary>Calls per page of GET /api/calls at most, to exercise paging.</summary>
    public int ListPageSize { get; set; } = 100;

    /// <summary>Keeps every request and delivery for tests to assert on; off in a long-running simulator.</summary>
    public bool KeepRecords { get; set; } = true;

    /// <summary>Ended calls older than this are forgotten (null keeps them all), so a long-running simulator stays small.</summary>
    public TimeSpan? ForgetEndedCallsAfter { get; set; }

    /// <summary>Starts one on its own Kestrel port at 127.0.0.1, as the tests and benchmarks use it.</summary>
    public static async Task<UltravoxEmulation> StartAsync(TimeProvider? clock = null)
    {
        var emulation = new UltravoxEmulation(clock ?? TimeProvider.System);
        emulation._host = await EmulationHost.StartAsync(emulation.Map);
        emulation.BaseUrl = emulation._host.BaseUrl;
        return emulation;
    }

    /// <summary>Ultravox's routes (/api/...) on <paramref name="routes"/>, which may be a group under a prefix.</summary>
    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/agents/{agentId}/calls", (RequestDelegate)CreateAsync);
        routes.MapGet("/api/calls", (RequestDelegate)ListAsync);
        routes.MapGet("/api/calls/{callId}", (RequestDelegate)GetAsync);
    }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_gate) return _requests.ToArray(); }
    }

    public IReadOnlyList<UltravoxCreateRequest> CreateRequests
    {
        get { lock (_gate) return _createRequests.ToArray(); }
    }

    /// <summary>Every call created (and not forgotten), in creation order.</summary>
    public IReadOnlyList<EmulatedUltravoxCall> Calls
    {
        get { lock (_gate) return _calls.Select(c => c.Snapshot()).ToArray(); }
    }

    public IReadOnlyList<WebhookDelivery> WebhookDeliveries
    {
        get { lock (_gate) return _deliveries.ToArray(); }
    }

    public int LiveCalls
    {
        get { lock (_gate) return _liveCalls; }
    }

    public int MaxLiveCalls
    {
        get { lock (_gate) return _maxLiveCalls; }
    }

    public int LiveCallsFor(string apiKey)
    {
        lock (_gate) return _liveByKey.GetValueOrDefault(apiKey);
    }

    public int MaxLiveCallsFor(string apiKey)
    {
        lock (_gate) return _maxLiveByKey.GetValueOrDefault(apiKey);
    }

    /// <summary>Creation requests received for this number, whatever they were answered.</summary>
    public int CreateRequestsFor(string to)
    {
        lock (_gate) return _createRequests.Count(r => r.To == to);
    }

    /// <summary>When each creation request with this key arrived (answered or not), for pacing checks.</summary>
    public IReadOnlyList<DateTimeOffset> CreateRequestTimesFor(string apiKey)
    {
        lock (_gate) return _createRequests.Where(r => r.ApiKey == apiKey).Select(r => r.At).ToArray();
    }

    /// <summary>When each call with this key was actually created.</summary>
    public IReadOnlyList<DateTimeOffset> CallCreationTimesFor(string apiKey)
    {
        lock (_gate) return _calls.Where(c => c.ApiKey == apiKey).Select(c => c.Created).ToArray();
    }

    public IReadOnlyList<DateTimeOffset> CallCreationTimesForAgent(string agentId)
    {
        lock (_gate) return _calls.Where(c => c.AgentId == agentId).Select(c => c.Created).ToArray();
    }

    /// <summary>Whether it created this call: calls live in memory and die with the process.</summary>
    public bool Knows(string callId)
    {
        lock (_gate) return _callsById.ContainsKey(callId);
    }

    /// <summary>Answers the next creation requests with these, in order, before <see cref="OnCreate"/> is asked again.</summary>
    public void RespondNext(params EmulatedAnswer[] answers)
    {
        foreach (var answer in answers) _queued.Enqueue(answer);
    }

    /// <summary>Waits until no call is live and every webhook has been delivered (or has failed).</summary>
    public async Task WaitUntilIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (LiveCalls > 0 || _work.Pending > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{LiveCalls} calls still live and {_work.Pending} background tasks pending after {timeout}.");
            await Task.Delay(20);
        }
    }

    /// <summary>The call.ended body it would send for one of its calls, to replay as a duplicate.</summary>
    public string CallEndedBody(string callId)
    {
        lock (_gate) return EventBody("call.ended", _callsById[callId].Snapshot());
    }

    /// <summary>
    /// POSTs <paramref name="body"/> to <see cref="WebhookUrl"/> once and returns the status. A null timestamp
    /// is now; a null signature is the correct one for <see cref="WebhookSecret"/>; "" leaves that header out.
    /// </summary>
    public async Task<int> SendWebhookAsync(string body, string? timestamp = null, string? signature = null)
    {
        var url = WebhookUrl ?? throw new InvalidOperationException("Set WebhookUrl first.");
        var delivery = await DeliverOnceAsync(url, body, null, timestamp, signature);
        return delivery.Status ?? throw new HttpRequestException($"Webhook delivery failed: {delivery.Error}");
    }

    /// <summary>Ends the calls' lifecycles and deliveries, as the process going away would.</summary>
    public void Stop() => _work.Stop();

    public async ValueTask DisposeAsync()
    {
        _work.Stop();
        if (_host is not null) await _host.DisposeAsync();
        await _work.DisposeAsync();
        _webhooks.Dispose();
    }

    private async Task<RecordedRequest> RecordAsync(HttpContext context)
    {
        var request = await RecordedRequest.ReadAsync(context, clock.GetUtcNow());
        if (KeepRecords) lock (_gate) _requests.Add(request);
        return request;
    }

    private async Task CreateAsync(HttpContext context)
    {
        var body = (await RecordAsync(context)).Body;
        var agentId = (string)context.Request.RouteValues["agentId"]!;
        var apiKey = ApiKeyOf(context);
        var parsed = ParseCreateBody(body);
        var info = new UltravoxCreateRequest(Interlocked.Increment(ref _createCount), agentId, context.Request.Headers["X-API-Key"].FirstOrDefault(),
            parsed.To, parsed.From, parsed.Metadata, body, clock.GetUtcNow());
        if (KeepRecords) lock (_gate) _createRequests.Add(info);

        if (apiKey is null)
        {
            await WriteAsync(context, 401, """{"detail":"Invalid or missing API key."}""");
            return;
        }
        var problem = parsed.Problem ?? (RequireE164 ? PhoneProblem(parsed.To, "to") ?? PhoneProblem(parsed.From, "from") : null);
        if (problem is not null)
        {
            await WriteAsync(context, 400, JsonSerializer.Serialize(new { detail = problem }, Json));
            return;
        }

        var answer = _queued.TryDequeue(out var queued) ? queued : OnCreate(info);
        switch (answer)
        {
            case EmulatedAnswer.Create:
                await WriteAsync(context, 201, CallJson(CreateCall(info, apiKey)));
                break;
            case EmulatedAnswer.RateLimit limit:
                activity?.Count(Provider, "rate-limited");
                if (limit.RetryAfter is not null) context.Response.Headers.RetryAfter = limit.RetryAfter;
                await WriteAsync(context, limit.Status, """{"detail":"Request was throttled."}""");
                break;
            case EmulatedAnswer.Reject reject:
                await WriteAsync(context, reject.Status, reject.Body);
                break;
            case EmulatedAnswer.ServerError error:
                await WriteAsync(context, error.Status, """{"detail":"Internal server error"}""");
                break;
            case EmulatedAnswer.Hang hang:
                await HangAsync(context, hang, info, apiKey);
                break;
            case EmulatedAnswer.Drop drop:
                if (drop.CreateCall) CreateCall(info, apiKey);
                context.Abort();
                break;
            default:
                throw new InvalidOperationException($"Unknown answer {answer}.");
        }
    }

    private async Task HangAsync(HttpContext context, EmulatedAnswer.Hang hang, UltravoxCreateRequest info, string apiKey)
    {
        if (!await _work.HoldAsync(context, hang.Duration, clock)) return;
        var call = hang.CreateCall ? CreateCall(info, apiKey) : null;
        if (context.RequestAborted.IsCancellationRequested) return;
        if (call is null)
            await WriteAsync(context, 504, """{"detail":"Gateway timeout"}""");
        else
            await WriteAsync(context, 201, CallJson(call));
    }

    private async Task ListAsync(HttpContext context)
    {
        await RecordAsync(context);
        var apiKey = ApiKeyOf(context);
        if (apiKey is null)
        {
            await WriteAsync(context, 401, """{"detail":"Invalid or missing API key."}""");
            return;
        }
        var query = context.Request.Query;
        var filters = query
            .Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal))
            .Select(q => (Key: q.Key["metadata.".Length..], Value: q.Value.ToString()))
            .ToArray();
        EmulatedUltravoxCall[] matching;
        lock (_gate)
        {
            matching = _calls
                .Where(c => c.ApiKey == apiKey)
                .Where(c => filters.All(f => c.Metadata.TryGetValue(f.Key, out var v) && v == f.Value))
                .Select(c => c.Snapshot())
                .ToArray();
        }
        var offset = int.TryParse(query["cursor"], out var cursor) ? Math.Max(cursor, 0) : 0;
        var asked = int.TryParse(query["pageSize"], out var size) ? Math.Clamp(size, 1, 100) : 100;
        var pageSize = Math.Max(Math.Min(asked, ListPageSize), 1);
        var page = matching.Skip(offset).Take(pageSize).ToArray();
        // The next links point where this request came, under whatever prefix the emulation is served.
        string PageLink(int at) =>
            $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{context.Request.Path}?" + string.Join("&", query
                .Where(q => q.Key != "cursor")
                .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}"))
                .Append($"cursor={at}"));
        var result = new
        {
            next = offset + pageSize < matching.Length ? PageLink(offset + pageSize) : null,
            previous = offset > 0 ? PageLink(Math.Max(offset - pageSize, 0)) : null,
            results = page.Select(CallObject),
            total = matching.Length,
        };
        await WriteAsync(context, 200, JsonSerializer.Serialize(result, Json));
    }

    private async Task GetAsync(HttpContext context)
    {
        await RecordAsync(context);
        var apiKey = ApiKeyOf(context);
        var callId = (string)context.Request.RouteValues["callId"]!;
        EmulatedUltravoxCall? call;
        lock (_gate) call = _callsById.TryGetValue(callId, out var state) && state.ApiKey == apiKey ? state.Snapshot() : null;
        if (apiKey is null)
            await WriteAsync(context, 401, """{"detail":"Invalid or missing API key."}""");
        else if (call is null)
            await WriteAsync(context, 404, """{"detail":"Not found."}""");
        else
            await WriteAsync(context, 200, CallJson(call));
    }

    private EmulatedUltravoxCall CreateCall(UltravoxCreateRequest info, string apiKey)
    {
        var now = clock.GetUtcNow();
        var duration = CallDuration(info);
        var answerAfter = AnswerAfter(info);
        var call = new CallState(Guid.NewGuid().ToString(), info.AgentId, apiKey, info.To, info.From, info.Metadata, now)
        {
            Joined = answerAfter <= TimeSpan.Zero ? now : null,
        };
        EmulatedUltravoxCall snapshot;
        lock (_gate)
        {
            ForgetEndedCalls(now);
            _calls.Add(call);
            _callsById.Add(call.CallId, call);
            _liveCalls++;
            _maxLiveCalls = Math.Max(_maxLiveCalls, _liveCalls);
            var live = _liveByKey[apiKey] = _liveByKey.GetValueOrDefault(apiKey) + 1;
            _maxLiveByKey[apiKey] = Math.Max(_maxLiveByKey.GetValueOrDefault(apiKey), live);
            snapshot = call.Snapshot();
        }
        activity?.Count(Provider, "created");
        _work.Track(PlayAsync(call, info, answerAfter, duration));
        return snapshot;
    }

    // Rings until answered (unless it ends first), talks, ends; then call.ended.
    private async Task PlayAsync(CallState call, UltravoxCreateRequest info, TimeSpan answerAfter, TimeSpan duration)
    {
        if (answerAfter > TimeSpan.Zero && answerAfter < duration)
        {
            await Task.Delay(answerAfter, clock, _work.Stopping);
            lock (_gate) call.Joined = clock.GetUtcNow();
            duration -= answerAfter;
        }
        await Task.Delay(duration, clock, _work.Stopping);
        var reason = EndReason(info);
        EmulatedUltravoxCall ended;
        lock (_gate)
        {
            call.Ended = clock.GetUtcNow();
            call.EndReason = reason;
            if (reason == "unjoined") call.Joined = null;
            _liveCalls--;
            _liveByKey[call.ApiKey]--;
            ended = call.Snapshot();
        }
        activity?.Count(Provider, "ended:" + reason);
        if (WebhookUrl is { } url)
            for (var copies = WebhookCopies(); copies > 0; copies--)
                await DeliverAsync(url, EventBody("call.ended", ended), ended.CallId);
    }

    // As Ultravox does: signed anew for each try, retried on anything but a 2xx, with growing pauses.
    private async Task DeliverAsync(string url, string body, string callId)
    {
        var pause = WebhookRetryPause;
        for (var attempt = 1; ; attempt++)
        {
            var delivery = await DeliverOnceAsync(url, body, callId, null, null);
            activity?.Count(Provider, delivery.Status is { } status ? $"webhook:{status}" : "webhook:unreachable");
            if (delivery.Status is >= 200 and < 300 || attempt >= WebhookAttempts) return;
            await Task.Delay(pause, clock, _work.Stopping);
            pause *= 2;
        }
    }

    private async Task<WebhookDelivery> DeliverOnceAsync(string url, string body, string? callId, string? timestamp, string? signature)
    {
        timestamp ??= clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        signature ??= UltravoxSignature.Sign(Encoding.UTF8.GetBytes(body), timestamp, WebhookSecret);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (timestamp.Length > 0) request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp);
        if (signature.Length > 0) request.Headers.TryAddWithoutValidation(SignatureHeader, signature);
        WebhookDelivery delivery;
        try
        {
            using var response = await _webhooks.SendAsync(request, _work.Stopping);
            delivery = new WebhookDelivery(callId, body, (int)response.StatusCode, null, clock.GetUtcNow());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            delivery = new WebhookDelivery(callId, body, null, e.Message, clock.GetUtcNow());
        }
        if (KeepRecords) lock (_gate) _deliveries.Add(delivery);
        return delivery;
    }

    // Under _gate.
    private void ForgetEndedCalls(DateTimeOffset now)
    {
        if (ForgetEndedCallsAfter is not { } keep) return;
        var before = now - keep;
        foreach (var call in _calls.Where(c => c.Ended < before).ToList())
        {
            _calls.Remove(call);
            _callsById.Remove(call.CallId);
        }
    }

    // Null (answered 401) when the key is missing or not among AcceptedApiKeys.
    private string? ApiKeyOf(HttpContext context) =>
        context.Request.Headers.TryGetValue("X-API-Key", out var key) && !string.IsNullOrEmpty(key)
        && (AcceptedApiKeys is not { } accepted || accepted.Contains(key.ToString()))
            ? key.ToString()
            : null;

    private static string? PhoneProblem(string? number, string field) =>
        PhoneNumber.IsE164(number) ? null : $"medium.telnyx.outgoing.{field}: '{number}' is not an E.164 phone number.";

    private static (string? To, string? From, IReadOnlyDictionary<string, string> Metadata, string? Problem) ParseCreateBody(string body)
    {
        var metadata = new Dictionary<string, string>();
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, null, metadata, "The body must be a JSON object.");
            string? Outgoing(string field) =>
                root.TryGetProperty("medium", out var medium) && medium.ValueKind == JsonValueKind.Object
                && medium.TryGetProperty("telnyx", out var telnyx) && telnyx.ValueKind == JsonValueKind.Object
                && telnyx.TryGetProperty("outgoing", out var outgoing) && outgoing.ValueKind == JsonValueKind.Object
                && outgoing.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
                    ? value.GetString()
                    : null;
            if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in meta.EnumerateObject())
                {
                    if (entry.Value.ValueKind != JsonValueKind.String)
                        return (Outgoing("to"), Outgoing("from"), metadata, $"metadata.{entry.Name}: all values must be strings.");
                    if (entry.Name.StartsWith("ultravox.", StringComparison.Ordinal))
                        return (Outgoing("to"), Outgoing("from"), metadata, $"metadata.{entry.Name}: the ultravox. prefix is reserved.");
                    metadata[entry.Name] = entry.Value.GetString()!;
                }
            }
            return (Outgoing("to"), Outgoing("from"), metadata, null);
        }
        catch (JsonException e)
        {
            return (null, null, metadata, $"Invalid JSON: {e.Message}");
        }
    }

    private static object CallObject(EmulatedUltravoxCall call) => new
    {
        callId = call.CallId,
        agentId = call.AgentId,
        created = call.Created,
        joined = call.Joined,
        ended = call.Ended,
        endReason = call.EndReason,
        metadata = call.Metadata,
    };

    private static string CallJson(EmulatedUltravoxCall call) => JsonSerializer.Serialize(CallObject(call), Json);

    private static string EventBody(string name, EmulatedUltravoxCall call) =>
        JsonSerializer.Serialize(new { @event = name, call = CallObject(call) }, Json);

    private static async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private sealed class CallState(
        string callId, string agentId, string apiKey, string? to, string? from, IReadOnlyDictionary<string, string> metadata, DateTimeOffset created)
    {
        public string CallId { get; } = callId;
        public string AgentId { get; } = agentId;
        public string ApiKey { get; } = apiKey;
        public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;
        public DateTimeOffset Created { get; } = created;
        public DateTimeOffset? Joined { get; set; }
        public DateTimeOffset? Ended { get; set; }
        public string? EndReason { get; set; }

        public EmulatedUltravoxCall Snapshot() => new(CallId, AgentId, ApiKey, to, from, Metadata, Created, Joined, Ended, EndReason);
    }
}
