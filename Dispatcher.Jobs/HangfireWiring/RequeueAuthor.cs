namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Who moved a failed job back to Enqueued, for the contact's or the onboarding call's record.
/// Hangfire's state filters run inside the dashboard request that clicked Requeue but are not told
/// its user, so the host says who that is (the signed-in dashboard user); anything else is
/// <see cref="Unknown"/>.
/// </summary>
public sealed class RequeueAuthor(Func<string?> current)
{
    public const string Unknown = "Hangfire Requeue";

    /// <summary>The job parameter a campaign call's job carries it in, from the click to the perform.</summary>
    public const string JobParameter = "RequeuedBy";

    public string Name => current() is { Length: > 0 } name ? name : Unknown;
}
