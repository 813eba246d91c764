namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Hangfire.PostgreSql keeps a scheduled job's time in whole seconds (truncated), so a job due at
/// 12:00:00.9 may start at 12:00:00.0. Where "not before" matters (a retry's backoff, Retry-After),
/// the time is rounded up to the next whole second.
/// </summary>
public static class WholeSecond
{
    public static DateTime NotBefore(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        var truncated = new DateTime(utc.Ticks - utc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        return truncated == utc ? utc : truncated.AddSeconds(1);
    }
}
