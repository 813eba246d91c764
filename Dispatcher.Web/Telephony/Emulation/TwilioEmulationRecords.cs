namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// A call-creation request as emulated Twilio read it; fields the form lacked are null. <paramref name="AuthUser"/>
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

/// <summary>A call emulated Twilio created, as it stands now. <paramref name="Status"/> follows Twilio's call statuses.</summary>
public sealed record EmulatedTwilioCall(
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
/// One status callback POST emulated Twilio made (or a test made through it): <paramref name="Status"/> is
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
