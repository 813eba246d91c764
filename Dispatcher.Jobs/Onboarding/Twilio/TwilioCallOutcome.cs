namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// What a call-creation request came to. Only <see cref="Unknown"/> leaves open whether the call
/// exists (Twilio has no idempotency key): look it up with FindCallsAsync before trying again.
/// </summary>
public abstract record TwilioCallOutcome
{
    private TwilioCallOutcome() { }

    public sealed record Created(TwilioCall Call) : TwilioCallOutcome;

    /// <summary>
    /// 429, error code 20429 or 503 (Twilio placed nothing): try again with backoff. <paramref name="RetryAfter"/> is the
    /// Retry-After header (never negative), null when Twilio sent none.
    /// </summary>
    public sealed record Retryable(int Status, int? Code, string Message, TimeSpan? RetryAfter) : TwilioCallOutcome;

    /// <summary>
    /// Any other 4xx (21211 invalid To, 21214, 21215 geo permissions, 21217, 20003 auth...): a definite
    /// no that a resend would not change. <paramref name="Message"/> is Twilio's, or the raw body cut to 2,000 characters.
    /// </summary>
    public sealed record Rejected(int Status, int? Code, string Message) : TwilioCallOutcome;

    /// <summary>Timeout, lost connection, a 5xx other than 503, an unreadable 2xx or an unfollowed redirect: the call may or may not exist.</summary>
    public sealed record Unknown(string Reason) : TwilioCallOutcome;
}
