namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>How an emulated provider answers one call-creation request.</summary>
public abstract record EmulatedAnswer
{
    private EmulatedAnswer() { }

    /// <summary>201 with the new call, whose lifecycle then plays out.</summary>
    public sealed record Create : EmulatedAnswer;

    /// <summary>429 (or e.g. 503) with <paramref name="RetryAfter"/> as the Retry-After header (none when null).</summary>
    public sealed record RateLimit(int Status = 429, string? RetryAfter = null) : EmulatedAnswer;

    /// <summary>A definite refusal (a 4xx) with this raw body; see <see cref="TwilioEmulation.ErrorBody"/> for Twilio's.</summary>
    public sealed record Reject(int Status, string Body) : EmulatedAnswer;

    public sealed record ServerError(int Status = 500) : EmulatedAnswer;

    /// <summary>
    /// Waits <paramref name="Duration"/>, cut short when the client gives up or the emulation stops; then
    /// creates the call if <paramref name="CreateCall"/> (so a POST that timed out client-side may
    /// still have placed it) and answers 201, or 504 when nothing was created, if anyone still listens.
    /// </summary>
    public sealed record Hang(TimeSpan Duration, bool CreateCall = false) : EmulatedAnswer;

    /// <summary>Aborts the connection without an answer, after creating the call if <paramref name="CreateCall"/>.</summary>
    public sealed record Drop(bool CreateCall = false) : EmulatedAnswer;
}
