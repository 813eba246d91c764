using Dispatcher.Jobs.Telephony;
using System.Text.Json;
using RestSharp;

namespace Dispatcher.Jobs.Campaigns.Ultravox;

/// <summary>
/// Talks to the Ultravox REST API for one or many agencies (the key travels with each request).
/// One instance serves the whole process: it is thread-safe and holds one connection pool.
/// </summary>
public sealed class UltravoxClient : IDisposable
{
    private const int MaxPages = 20;
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly UltravoxOptions _options;
    private readonly TimeProvider _clock;
    private readonly Uri _baseUrl;
    private readonly RestClient _rest;

    public UltravoxClient(UltravoxOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        if (options.RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "RequestTimeout must be positive.");
        _options = options with { };
        _clock = clock;
        _baseUrl = new Uri(options.BaseUrl, UriKind.Absolute);
        _rest = ProviderHttp.Client(_baseUrl, options.RequestTimeout); // the X-API-Key goes per request: it is the agency's
    }

    /// <summary>POST /api/agents/{agentId}/calls: starts one outbound Telnyx call of a saved agent.</summary>
    public async Task<CreateCallOutcome> StartAgentCallAsync(StartCallRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.ApiKey);
        var reserved = request.Metadata.Keys.FirstOrDefault(key => key.StartsWith("ultravox.", StringComparison.Ordinal));
        if (reserved is not null)
            throw new ArgumentException($"Metadata key '{reserved}' is reserved by Ultravox.", nameof(request));

        var body = new StartAgentCallBody(
            new CallMediumBody(new TelnyxMediumBody(new TelnyxOutgoingBody(request.To, request.From))),
            new FirstSpeakerSettingsBody(new AgentGreetingBody()),
            request.Metadata,
            request.TemplateContext);
        var http = new RestRequest("api/agents/{agentId}/calls", Method.Post)
            .AddUrlSegment("agentId", request.AgentId)
            .AddHeader("X-API-Key", request.ApiKey)
            .AddStringBody(JsonSerializer.Serialize(body, Json), ContentType.Json);

        var response = await SendAsync(http, ct);
        if (response.TimedOut)
            return new CreateCallOutcome.Unknown($"timeout after {_options.RequestTimeout.TotalSeconds:0.###} s without an answer");
        var answer = response.Answer;
        var status = (int)answer.StatusCode;
        if (status == 0)
            return new CreateCallOutcome.Unknown($"no answer: {answer.ErrorMessage ?? answer.ResponseStatus.ToString()}");

        if (status is >= 200 and < 300)
        {
            var call = ReadCall(answer.Content);
            return call is null
                ? new CreateCallOutcome.Unknown($"status {status} with an unreadable call: {ProviderHttp.Truncate(answer.Content)}")
                : new CreateCallOutcome.Created(call);
        }
        if (status is 429 or 503)
            return new CreateCallOutcome.RateLimited(status, RetryAfter(answer));
        if (status is >= 400 and < 500)
            return new CreateCallOutcome.Rejected(status, ProviderHttp.Truncate(answer.Content));
        return new CreateCallOutcome.Unknown($"status {status}: {ProviderHttp.Truncate(answer.Content)}");
    }

    /// <summary>
    /// GET /api/calls?metadata.{key}={value}: the account's calls carrying that metadata, following
    /// <c>next</c> for at most 20 pages (what was found by then is returned).
    /// </summary>
    public async Task<IReadOnlyList<UltravoxCall>> FindCallsByMetadataAsync(string apiKey, string key, string value, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var calls = new List<UltravoxCall>();
        var next = new RestRequest("api/calls")
            .AddQueryParameter($"metadata.{key}", value)
            .AddQueryParameter("pageSize", "100");
        for (var page = 1; page <= MaxPages; page++)
        {
            var answer = await LookUpAsync(next.AddHeader("X-API-Key", apiKey), ct);
            if (!ProviderHttp.IsSuccess(answer))
                throw Failure("listing calls", answer);
            var list = Read<CallPageJson>(answer.Content)
                ?? throw new UltravoxException((int)answer.StatusCode, $"listing calls: unreadable page: {ProviderHttp.Truncate(answer.Content)}");
            calls.AddRange((list.Results ?? []).Select(call => call?.ToCall()).OfType<UltravoxCall>());
            if (string.IsNullOrEmpty(list.Next)) break;
            next = new RestRequest(NextPage(list.Next));
        }
        return calls;
    }

    /// <summary>GET /api/calls/{callId}; null when the account has no such call.</summary>
    public async Task<UltravoxCall?> GetCallAsync(string apiKey, string callId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        ArgumentException.ThrowIfNullOrEmpty(callId);
        var http = new RestRequest("api/calls/{callId}").AddUrlSegment("callId", callId).AddHeader("X-API-Key", apiKey);
        var answer = await LookUpAsync(http, ct);
        if ((int)answer.StatusCode == 404) return null;
        if (!ProviderHttp.IsSuccess(answer)) throw Failure("reading a call", answer);
        return ReadCall(answer.Content)
            ?? throw new UltravoxException((int)answer.StatusCode, $"reading a call: unreadable call: {ProviderHttp.Truncate(answer.Content)}");
    }

    public void Dispose() => _rest.Dispose();

    private async Task<RestResponse> LookUpAsync(RestRequest http, CancellationToken ct)
    {
        var response = await SendAsync(http, ct);
        if (response.TimedOut)
            throw new UltravoxException(null, $"timeout after {_options.RequestTimeout.TotalSeconds:0.###} s without an answer");
        if (response.Answer.StatusCode == 0)
            throw new UltravoxException(null, $"no answer: {response.Answer.ErrorMessage ?? response.Answer.ResponseStatus.ToString()}",
                response.Answer.ErrorException);
        return response.Answer;
    }

    private Task<(RestResponse Answer, bool TimedOut)> SendAsync(RestRequest http, CancellationToken ct) =>
        ProviderHttp.SendAsync(_rest, http, _options.RequestTimeout, _clock, ct);

    // A next link elsewhere than the configured API would receive the key: refuse it.
    private Uri NextPage(string next)
    {
        if (!ProviderHttp.SameOrigin(_baseUrl, next, out var uri))
            throw new UltravoxException(null, $"listing calls: next page link '{next}' leaves {_baseUrl.GetLeftPart(UriPartial.Authority)}");
        return uri;
    }

    private TimeSpan RetryAfter(RestResponse answer) => ProviderHttp.RetryAfter(answer, _clock) ?? DefaultRetryAfter;


    private static UltravoxException Failure(string what, RestResponse answer) =>
        new((int)answer.StatusCode, $"{what}: status {(int)answer.StatusCode}: {ProviderHttp.Truncate(answer.Content)}");

    private static UltravoxCall? ReadCall(string? content) => Read<CallJson>(content)?.ToCall();

    private static T? Read<T>(string? content) where T : class => ProviderHttp.Read<T>(content, Json);

}
