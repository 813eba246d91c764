namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// One outbound call: Twilio fetches TwiML from <paramref name="Url"/> (POST) once answered and
/// reports progress to <paramref name="StatusCallback"/> (POST). <paramref name="MachineDetection"/>
/// is Twilio's value (Enable, DetectMessageEnd); <paramref name="TimeoutSeconds"/> is how long it
/// rings (1 to 600, Twilio's default 60 when null).
/// </summary>
public sealed record CreateTwilioCall(
    string To,
    string Url,
    string StatusCallback,
    string? MachineDetection = null,
    int? TimeoutSeconds = null);
