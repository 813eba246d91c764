namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>A call-creation request as emulated Ultravox read it; fields the body lacked are null.</summary>
public sealed record UltravoxCreateRequest(
    int Sequence,
    string AgentId,
    string? ApiKey,
    string? To,
    string? From,
    IReadOnlyDictionary<string, string> Metadata,
    string Body,
    DateTimeOffset At);

/// <summary>A call emulated Ultravox created, as it stands now.</summary>
public sealed record EmulatedUltravoxCall(
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

/// <summary>One webhook POST emulated Ultravox made: <paramref name="Status"/> null when no HTTP answer came (see <paramref name="Error"/>).</summary>
public sealed record WebhookDelivery(string? CallId, string Body, int? Status, string? Error, DateTimeOffset At);
