namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// A look-up that Twilio refused or never answered. <see cref="Status"/> is null when no HTTP answer
/// came; <see cref="Code"/> is Twilio's error code when the body had one.
/// </summary>
public sealed class TwilioException(int? status, int? code, string message, Exception? inner = null) : Exception(message, inner)
{
    public int? Status { get; } = status;
    public int? Code { get; } = code;
}
