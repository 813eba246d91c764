namespace Dispatcher.Jobs.Telephony;

/// <summary>
/// The provider did nothing and asked us to come back (429, Twilio's 20429, 503). Thrown out of a job
/// so the engine retries it: after <see cref="RetryAfter"/> when the provider said, else with the job's backoff.
/// </summary>
public sealed class ProviderBusyException(string message, TimeSpan? retryAfter) : Exception(message)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
