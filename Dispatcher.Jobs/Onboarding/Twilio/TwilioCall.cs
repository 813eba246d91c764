namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// The parts of a Twilio Call resource the dispatcher reads. <paramref name="Status"/> is one of
/// queued, ringing, in-progress, completed, busy, failed, no-answer, canceled;
/// <paramref name="StartTime"/> is null until the call is dialled.
/// </summary>
public sealed record TwilioCall(string Sid, string Status, string? To, DateTimeOffset? StartTime);
