namespace Dispatcher.Jobs.Campaigns.Ultravox;

/// <summary>
/// What a call-creation request came to. Only <see cref="Unknown"/> leaves open whether the call
/// exists; resolve it by looking the call up by metadata before trying again.
/// </summary>
public abstract record CreateCallOutcome
{
    private CreateCallOutcome() { }

    public sealed record Created(UltravoxCall Call) : CreateCallOutcome;

    /// <summary>429 or 503: nothing was created; wait <paramref name="RetryAfter"/> (never negative).</summary>
    public sealed record RateLimited(int Status, TimeSpan RetryAfter) : CreateCallOutcome;

    /// <summary>Any other 4xx: a definite no. <paramref name="Body"/> is the raw answer, cut to 2,000 characters.</summary>
    public sealed record Rejected(int Status, string Body) : CreateCallOutcome;

    /// <summary>Timeout, lost connection, 5xx other than 503 or an unreadable answer: the call may or may not exist.</summary>
    public sealed record Unknown(string Reason) : CreateCallOutcome;
}
