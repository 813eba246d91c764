using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Campaigns.Ultravox;

namespace Dispatcher.Web.Simulation;

/// <summary>
/// Ultravox's call API as the campaign dialler uses it, served by this process under
/// /simulator/ultravox: agent calls over Telnyx that ring, are answered or not, last a while and
/// end, with a signed call.ended webhook to the service's public /webhooks/ultravox; look-ups by id
/// and by metadata; now and then a 429 with Retry-After. Calls are kept in memory.
/// </summary>
public sealed class UltravoxSimulator(SimulatorOptions options, SimulatorActivity activity, TimeProvider clock,
    IHostApplicationLifetime lifetime, ILogger<UltravoxSimulator> logger) : IDisposable
{
    public const string Prefix = "/simulator/ultravox";
    private const string Provider = "ultravox";
    private const int MaxDeliveries = 6;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan KeepEndedCalls = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, SimulatedCall> _calls = new();
    private readonly HttpClient _webhooks = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static void Map(IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(Prefix + "/api").ExcludeFromDescription();
        api.MapPost("/agents/{agentId}/calls", (HttpContext context, string agentId, UltravoxSimulator simulator) => simulator.CreateAsync(context, agentId));
        api.MapGet("/calls", (HttpContext context, UltravoxSimulator simulator) => simulator.List(context));
        api.MapGet("/calls/{callId}", (HttpContext context, string callId, UltravoxSimulator simulator) => simulator.Get(context, callId));
    }

    private async Task<IResult> CreateAsync(HttpContext context, string agentId)
    {
        if (ApiKey(context) is not { } apiKey) return Detail(401, "Invalid API key.");
        JsonNode? body;
        try { body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted); }
        catch (JsonException ex) { return Detail(400, $"Invalid JSON: {ex.Message}"); }
        var outgoing = body?["medium"]?["telnyx"]?["outgoing"];
        var to = Text(outgoing?["to"]);
        var from = Text(outgoing?["from"]);
        if (!PhoneNumber.IsE164(to)) return Detail(400, $"medium.telnyx.outgoing.to: '{to}' is not an E.164 phone number.");
        if (!PhoneNumber.IsE164(from)) return Detail(400, $"medium.telnyx.outgoing.from: '{from}' is not an E.164 phone number.");
        var metadata = new Dictionary<string, string>();
        foreach (var (key, value) in body?["metadata"]?.AsObject() ?? [])
        {
            if (key.StartsWith("ultravox.", StringComparison.Ordinal)) return Detail(400, $"metadata key '{key}' is reserved.");
            metadata[key] = Text(value) ?? "";
        }

        if (Random.Shared.Next(100) < options.RateLimitPercent)
        {
            activity.Count(Provider, "rate-limited");
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Detail(429, "Request was throttled.");
        }

        var call = new SimulatedCall(Guid.NewGuid().ToString(), apiKey, agentId, to!, from!, metadata, clock.GetUtcNow());
        _calls[call.CallId] = call;
        activity.Count(Provider, "created");
        ForgetOldCalls();
        _ = Task.Run(() => PlayAsync(call));
        return Results.Json(call.ToJson(), Json, statusCode: 201);
    }

    private IResult List(HttpContext context)
    {
        if (ApiKey(context) is not { } apiKey) return Detail(401, "Invalid API key.");
        var query = context.Request.Query;
        var filters = query.Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal))
            .Select(q => (Key: q.Key["metadata.".Length..], Value: q.Value.ToString())).ToList();
        var matching = _calls.Values
            .Where(c => c.ApiKey == apiKey && filters.All(f => c.Metadata.TryGetValue(f.Key, out var v) && v == f.Value))
            .OrderBy(c => c.Created).ThenBy(c => c.CallId, StringComparer.Ordinal)
            .ToList();
        var pageSize = int.TryParse(query["pageSize"], out var size) ? Math.Clamp(size, 1, 100) : 100;
        var offset = int.TryParse(query["cursor"], out var cursor) ? Math.Max(cursor, 0) : 0;
        string? PageLink(int at)
        {
            var rest = query.Where(q => q.Key != "cursor").Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}");
            return $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{context.Request.Path}?"
                + string.Join("&", rest.Append($"cursor={at}"));
        }
        return Results.Json(new
        {
            next = offset + pageSize < matching.Count ? PageLink(offset + pageSize) : null,
            previous = offset > 0 ? PageLink(Math.Max(offset - pageSize, 0)) : null,
            results = matching.Skip(offset).Take(pageSize).Select(c => c.ToJson()),
            total = matching.Count,
        }, Json);
    }

    private IResult Get(HttpContext context, string callId)
    {
        if (ApiKey(context) is not { } apiKey) return Detail(401, "Invalid API key.");
        return _calls.TryGetValue(callId, out var call) && call.ApiKey == apiKey
            ? Results.Json(call.ToJson(), Json)
            : Detail(404, "Not found.");
    }

    // Rings; then answered and talked, or never joined, or lost on the network; then call.ended.
    private async Task PlayAsync(SimulatedCall call)
    {
        var stopping = lifetime.ApplicationStopping;
        try
        {
            var roll = Random.Shared.Next(100);
            if (roll < options.NoAnswerPercent || call.To == SimulatorOptions.NobodyAnswers)
            {
                await Task.Delay(options.AnswerAfter.Draw(Random.Shared) + TimeSpan.FromSeconds(options.AnswerAfter.Max), clock, stopping);
                call.End(clock.GetUtcNow(), "unjoined");
            }
            else if (roll < options.NoAnswerPercent + options.FailurePercent)
            {
                await Task.Delay(TimeSpan.FromSeconds(0.5 + Random.Shared.NextDouble() * 2), clock, stopping);
                call.End(clock.GetUtcNow(), "connection_error");
            }
            else
            {
                await Task.Delay(options.AnswerAfter.Draw(Random.Shared), clock, stopping);
                call.Join(clock.GetUtcNow());
                await Task.Delay(options.CallLasts.Draw(Random.Shared), clock, stopping);
                call.End(clock.GetUtcNow(), Random.Shared.Next(10) < 7 ? "hangup" : "agent_hangup");
            }
            activity.Count(Provider, "ended:" + call.EndReason);
            await DeliverAsync(call, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The service stops: the simulated provider goes away with it, calls and all.
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Simulated Ultravox call {CallId} failed", call.CallId);
        }
    }

    // As Ultravox does: signed anew for each try, retried on anything but a 2xx, with growing pauses.
    private async Task DeliverAsync(SimulatedCall call, CancellationToken ct)
    {
        var url = options.PublicUrl + "/webhooks/ultravox";
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { @event = "call.ended", call = call.ToJson() }, Json));
        var pause = TimeSpan.FromSeconds(2);
        for (var attempt = 1; attempt <= MaxDeliveries; attempt++)
        {
            var timestamp = clock.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.Add("X-Ultravox-Webhook-Timestamp", timestamp);
            request.Headers.Add("X-Ultravox-Webhook-Signature", UltravoxSignature.Sign(body, timestamp, options.UltravoxWebhookSecret));
            try
            {
                using var response = await _webhooks.SendAsync(request, ct);
                activity.Count(Provider, $"webhook:{(int)response.StatusCode}");
                if (response.IsSuccessStatusCode) return;
                logger.LogWarning("Simulated Ultravox: call.ended for {CallId} answered {Status} (try {Attempt})", call.CallId, (int)response.StatusCode, attempt);
            }
            catch (HttpRequestException ex)
            {
                activity.Count(Provider, "webhook:unreachable");
                logger.LogWarning("Simulated Ultravox: call.ended for {CallId} could not be delivered to {Url}: {Error} (try {Attempt})", call.CallId, url, ex.Message, attempt);
            }
            await Task.Delay(pause, clock, ct);
            pause *= 2;
        }
    }

    /// <summary>Whether this process created the call: calls live in its memory and die with it.</summary>
    public bool Knows(string callId) => _calls.ContainsKey(callId);

    private void ForgetOldCalls()
    {
        if (Random.Shared.Next(100) != 0) return;
        var before = clock.GetUtcNow() - KeepEndedCalls;
        foreach (var (id, call) in _calls)
            if (call.Ended < before) _calls.TryRemove(id, out _);
    }

    private static string? ApiKey(HttpContext context) =>
        context.Request.Headers["X-API-Key"].FirstOrDefault() is { Length: > 0 } key ? key : null;

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : node?.ToJsonString();

    private static IResult Detail(int status, string detail) => Results.Json(new { detail }, Json, statusCode: status);

    public void Dispose() => _webhooks.Dispose();

    private sealed class SimulatedCall(string callId, string apiKey, string agentId, string to, string from,
        IReadOnlyDictionary<string, string> metadata, DateTimeOffset created)
    {
        private readonly object _gate = new();
        public string CallId { get; } = callId;
        public string ApiKey { get; } = apiKey;
        public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;
        public string To { get; } = to;
        public DateTimeOffset Created { get; } = created;
        public DateTimeOffset? Joined { get; private set; }
        public DateTimeOffset? Ended { get; private set; }
        public string? EndReason { get; private set; }

        public void Join(DateTimeOffset at) { lock (_gate) Joined = at; }

        public void End(DateTimeOffset at, string reason)
        {
            lock (_gate) (Ended, EndReason) = (at, reason);
        }

        public object ToJson()
        {
            lock (_gate)
                return new
                {
                    callId = CallId,
                    agentId,
                    created = Created,
                    joined = Joined,
                    ended = Ended,
                    endReason = EndReason,
                    metadata = Metadata,
                    medium = new { telnyx = new { outgoing = new { to, from } } },
                    joinUrl = (string?)null,
                };
        }
    }
}
