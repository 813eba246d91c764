using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dispatcher.Tests.Fakes;

/// <summary>One HTTP request as the fake received it. Header names are matched case-insensitively.</summary>
public sealed record RecordedRequest(
    string Method,
    string PathAndQuery,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    DateTimeOffset At);

/// <summary>A call-creation request as the fake read it; fields the body lacked are null.</summary>
public sealed record CreateRequestInfo(
    int Sequence,
    string AgentId,
    string? ApiKey,
    string? To,
    string? From,
    IReadOnlyDictionary<string, string> Metadata,
    string Body,
    DateTimeOffset At);

/// <summary>How the fake answers one call-creation request.</summary>
public abstract record FakeResponse
{
    private FakeResponse() { }

    /// <summary>201 with the new call (a fresh callId, the request's metadata echoed).</summary>
    public sealed record Create : FakeResponse;

    /// <summary>429 or 503, with <paramref name="RetryAfter"/> as the Retry-After header (none when null).</summary>
    public sealed record RateLimit(int Status = 429, string? RetryAfter = null) : FakeResponse;

    /// <summary>A definite refusal (a 4xx) with this raw body.</summary>
    public sealed record Reject(int Status, string Body) : FakeResponse;

    public sealed record ServerError(int Status = 500) : FakeResponse;

    /// <summary>
    /// Waits <paramref name="Duration"/>, cut short when the client gives up or the fake stops; then
    /// creates the call if <paramref name="CreateCall"/> (so a POST that timed out client-side may
    /// still have placed it) and answers 201, or 504 when nothing was created, if anyone still listens.
    /// </summary>
    public sealed record Hang(TimeSpan Duration, bool CreateCall = false) : FakeResponse;

    /// <summary>Aborts the connection without an answer, after creating the call if <paramref name="CreateCall"/>.</summary>
    public sealed record Drop(bool CreateCall = false) : FakeResponse;
}

/// <summary>A call the fake created, as it stands now.</summary>
public sealed record FakeCall(
    string CallId,
    string AgentId,
    string ApiKey,
    string? To,
    string? From,
    IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset Created,
    DateTimeOffset? Joined,
    DateTimeOffset? Ended,
    string? EndReason);

/// <summary>One webhook POST the fake made: <paramref name="Status"/> null when no HTTP answer came (see <paramref name="Error"/>).</summary>
public sealed record WebhookDelivery(string? CallId, string Body, int? Status, string? Error, DateTimeOffset At);

/// <summary>
/// A real Ultravox stand-in on Kestrel (127.0.0.1, a free port) for tests that go over HTTP:
/// agent call creation, look-ups by id and by metadata, calls that end on their own after
/// <see cref="CallDuration"/>, and signed call.ended webhooks to <see cref="WebhookUrl"/>.
/// Creation answers come from <see cref="RespondNext"/>'s queue first, then <see cref="OnCreate"/>.
/// Timers (call ends, hangs) run on the clock given to <see cref="StartAsync"/>.
/// </summary>
public sealed class FakeUltravox : IAsyncDisposable
{
    public const string SignatureHeader = "X-Ultravox-Webhook-Signature";
    public const string TimestampHeader = "X-Ultravox-Webhook-Timestamp";
    private const string BodyItem = "fake-ultravox-body";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TimeProvider _clock;
    private readonly HttpClient _webhooks = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentQueue<FakeResponse> _queued = new();
    private readonly object _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<CreateRequestInfo> _createRequests = [];
    private readonly List<CallState> _calls = [];
    private readonly Dictionary<string, CallState> _callsById = [];
    private readonly Dictionary<string, int> _liveByKey = [];
    private readonly Dictionary<string, int> _maxLiveByKey = [];
    private readonly List<WebhookDelivery> _deliveries = [];
    private FakeServer _server = null!;
    private int _liveCalls;
    private int _maxLiveCalls;

    private FakeUltravox(TimeProvider clock) => _clock = clock;

    /// <summary>Where the fake listens, e.g. http://127.0.0.1:40123 (use as UltravoxOptions.BaseUrl).</summary>
    public string BaseUrl => _server.BaseUrl;

    public Func<CreateRequestInfo, FakeResponse> OnCreate { get; set; } = _ => new FakeResponse.Create();
    public Func<TimeSpan> CallDuration { get; set; } = () => TimeSpan.FromSeconds(1);
    public Func<string> EndReason { get; set; } = () => "hangup";

    /// <summary>Where call.ended webhooks go; null sends none.</summary>
    public string? WebhookUrl { get; set; }

    public string WebhookSecret { get; set; } = "fake-ultravox-webhook-secret";

    /// <summary>When set, any other X-API-Key is answered 401, as Ultravox answers an unknown key.</summary>
    public IReadOnlySet<string>? AcceptedApiKeys { get; set; }

    /// <summary>Calls per page of GET /api/calls (the client's pageSize is ignored), to exercise paging.</summary>
    public int ListPageSize { get; set; } = 100;

    public static async Task<FakeUltravox> StartAsync(TimeProvider? clock = null)
    {
        var fake = new FakeUltravox(clock ?? TimeProvider.System);
        fake._server = await FakeServer.StartAsync(routes =>
        {
            routes.Use(fake.RecordAsync);
            routes.MapPost("/api/agents/{agentId}/calls", (RequestDelegate)fake.CreateAsync);
            routes.MapGet("/api/calls", (RequestDelegate)fake.ListAsync);
            routes.MapGet("/api/calls/{callId}", (RequestDelegate)fake.GetAsync);
        });
        return fake;
    }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_gate) return _requests.ToArray(); }
    }

    public IReadOnlyList<CreateRequestInfo> CreateRequests
    {
        get { lock (_gate) return _createRequests.ToArray(); }
    }

    /// <summary>Every call created, in creation order.</summary>
    public IReadOnlyList<FakeCall> Calls
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

    /// <summary>Answers the next creation requests with these, in order, before <see cref="OnCreate"/> is asked again.</summary>
    public void RespondNext(params FakeResponse[] responses)
    {
        foreach (var response in responses) _queued.Enqueue(response);
    }

    /// <summary>Waits until no call is live and every webhook has been delivered (or has failed).</summary>
    public async Task WaitUntilIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (LiveCalls > 0 || _server.Pending > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{LiveCalls} calls still live and {_server.Pending} background tasks pending after {timeout}.");
            await Task.Delay(20);
        }
    }

    /// <summary>The call.ended body the fake would send for one of its calls, to replay as a duplicate.</summary>
    public string CallEndedBody(string callId)
    {
        lock (_gate) return EventBody("call.ended", _callsById[callId].Snapshot());
    }

    /// <summary>
    /// POSTs <paramref name="body"/> to <see cref="WebhookUrl"/> and returns the status. A null timestamp
    /// is now; a null signature is the correct one for <see cref="WebhookSecret"/>; "" leaves that header out.
    /// </summary>
    public async Task<int> SendWebhookAsync(string body, string? timestamp = null, string? signature = null)
    {
        var url = WebhookUrl ?? throw new InvalidOperationException("Set WebhookUrl first.");
        var delivery = await DeliverAsync(url, body, null, timestamp, signature);
        return delivery.Status ?? throw new HttpRequestException($"Webhook delivery failed: {delivery.Error}");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _webhooks.Dispose();
    }

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        var (body, headers) = await FakeServer.ReadRequestAsync(context);
        context.Items[BodyItem] = body;
        var request = new RecordedRequest(
            context.Request.Method,
            context.Request.Path + context.Request.QueryString,
            headers,
            body,
            _clock.GetUtcNow());
        lock (_gate) _requests.Add(request);
        await next(context);
    }

    private async Task CreateAsync(HttpContext context)
    {
        var body = (string)context.Items[BodyItem]!;
        var agentId = (string)context.Request.RouteValues["agentId"]!;
        var apiKey = ApiKeyOf(context);
        var parsed = ParseCreateBody(body);
        CreateRequestInfo info;
        lock (_gate)
        {
            info = new CreateRequestInfo(_createRequests.Count + 1, agentId, context.Request.Headers["X-API-Key"].FirstOrDefault(), parsed.To, parsed.From, parsed.Metadata, body, _clock.GetUtcNow());
            _createRequests.Add(info);
        }

        if (apiKey is null)
        {
            await WriteAsync(context, 401, """{"detail":"Invalid or missing API key."}""");
            return;
        }
        if (parsed.Problem is not null)
        {
            await WriteAsync(context, 400, JsonSerializer.Serialize(new { detail = parsed.Problem }, Json));
            return;
        }

        var response = _queued.TryDequeue(out var queued) ? queued : OnCreate(info);
        switch (response)
        {
            case FakeResponse.Create:
                await WriteAsync(context, 201, CallJson(CreateCall(info, apiKey)));
                break;
            case FakeResponse.RateLimit limit:
                if (limit.RetryAfter is not null) context.Response.Headers.RetryAfter = limit.RetryAfter;
                await WriteAsync(context, limit.Status, """{"detail":"Request was throttled."}""");
                break;
            case FakeResponse.Reject reject:
                await WriteAsync(context, reject.Status, reject.Body);
                break;
            case FakeResponse.ServerError error:
                await WriteAsync(context, error.Status, """{"detail":"Internal server error"}""");
                break;
            case FakeResponse.Hang hang:
                await HangAsync(context, hang, info, apiKey);
                break;
            case FakeResponse.Drop drop:
                if (drop.CreateCall) CreateCall(info, apiKey);
                context.Abort();
                break;
            default:
                throw new InvalidOperationException($"Unknown fake response {response}.");
        }
    }

    private async Task HangAsync(HttpContext context, FakeResponse.Hang hang, CreateRequestInfo info, string apiKey)
    {
        if (!await _server.HoldAsync(context, hang.Duration, _clock)) return;
        var call = hang.CreateCall ? CreateCall(info, apiKey) : null;
        if (context.RequestAborted.IsCancellationRequested) return;
        if (call is null)
            await WriteAsync(context, 504, """{"detail":"Gateway timeout"}""");
        else
            await WriteAsync(context, 201, CallJson(call));
    }

    private async Task ListAsync(HttpContext context)
    {
        var apiKey = ApiKeyOf(context);
        if (apiKey is null)
        {
            await WriteAsync(context, 401, """{"detail":"Invalid or missing API key."}""");
            return;
        }
        var filters = context.Request.Query
            .Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal))
            .Select(q => (Key: q.Key["metadata.".Length..], Value: q.Value.ToString()))
            .ToArray();
        FakeCall[] matching;
        lock (_gate)
        {
            matching = _calls
                .Where(c => c.ApiKey == apiKey)
                .Where(c => filters.All(f => c.Metadata.TryGetValue(f.Key, out var v) && v == f.Value))
                .Select(c => c.Snapshot())
                .ToArray();
        }
        var offset = int.TryParse(context.Request.Query["cursor"], out var cursor) ? Math.Max(cursor, 0) : 0;
        var pageSize = Math.Max(ListPageSize, 1);
        var page = matching.Skip(offset).Take(pageSize).ToArray();
        string? PageLink(int at) =>
            $"{BaseUrl}/api/calls?" + string.Join("&", context.Request.Query
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
        var apiKey = ApiKeyOf(context);
        var callId = (string)context.Request.RouteValues["callId"]!;
        FakeCall? call;
        lock (_gate) call = _callsById.TryGetValue(callId, out var state) && state.ApiKey == apiKey ? state.Snapshot() : null;
        if (apiKey is null)
            await WriteAsync(context, 401, """{"detail":"Invalid or missing API key."}""");
        else if (call is null)
            await WriteAsync(context, 404, """{"detail":"Not found."}""");
        else
            await WriteAsync(context, 200, CallJson(call));
    }

    private FakeCall CreateCall(CreateRequestInfo info, string apiKey)
    {
        var now = _clock.GetUtcNow();
        var call = new CallState(Guid.NewGuid().ToString(), info.AgentId, apiKey, info.To, info.From, info.Metadata, now) { Joined = now };
        FakeCall snapshot;
        lock (_gate)
        {
            _calls.Add(call);
            _callsById.Add(call.CallId, call);
            _liveCalls++;
            _maxLiveCalls = Math.Max(_maxLiveCalls, _liveCalls);
            var live = _liveByKey[apiKey] = _liveByKey.GetValueOrDefault(apiKey) + 1;
            _maxLiveByKey[apiKey] = Math.Max(_maxLiveByKey.GetValueOrDefault(apiKey), live);
            snapshot = call.Snapshot();
        }
        _server.Track(EndLaterAsync(call, CallDuration()));
        return snapshot;
    }

    private async Task EndLaterAsync(CallState call, TimeSpan after)
    {
        await Task.Delay(after, _clock, _server.Stopping);
        var reason = EndReason();
        FakeCall ended;
        lock (_gate)
        {
            call.Ended = _clock.GetUtcNow();
            call.EndReason = reason;
            if (reason == "unjoined") call.Joined = null;
            _liveCalls--;
            _liveByKey[call.ApiKey]--;
            ended = call.Snapshot();
        }
        if (WebhookUrl is { } url)
            await DeliverAsync(url, EventBody("call.ended", ended), ended.CallId, null, null);
    }

    private async Task<WebhookDelivery> DeliverAsync(string url, string body, string? callId, string? timestamp, string? signature)
    {
        timestamp ??= _clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
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
            using var response = await _webhooks.SendAsync(request, _server.Stopping);
            delivery = new WebhookDelivery(callId, body, (int)response.StatusCode, null, _clock.GetUtcNow());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            delivery = new WebhookDelivery(callId, body, null, e.Message, _clock.GetUtcNow());
        }
        lock (_gate) _deliveries.Add(delivery);
        return delivery;
    }

    // Null (answered 401) when the key is missing or not among AcceptedApiKeys.
    private string? ApiKeyOf(HttpContext context) =>
        context.Request.Headers.TryGetValue("X-API-Key", out var key) && !string.IsNullOrEmpty(key)
        && (AcceptedApiKeys is not { } accepted || accepted.Contains(key.ToString()))
            ? key.ToString()
            : null;

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

    private static object CallObject(FakeCall call) => new
    {
        callId = call.CallId,
        agentId = call.AgentId,
        created = call.Created,
        joined = call.Joined,
        ended = call.Ended,
        endReason = call.EndReason,
        metadata = call.Metadata,
    };

    private static string CallJson(FakeCall call) => JsonSerializer.Serialize(CallObject(call), Json);

    private static string EventBody(string name, FakeCall call) =>
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

        public FakeCall Snapshot() => new(CallId, AgentId, ApiKey, to, from, Metadata, Created, Joined, Ended, EndReason);
    }
}
