namespace Dispatcher.Queue.Recurring;

/// <summary>What happens to occurrences missed while no instance was running (Hangfire's MisfireHandlingMode).</summary>
public enum MisfirePolicy
{
    /// <summary>One run for any number missed (Hangfire's Relaxed, the default).</summary>
    Relaxed,
    /// <summary>One run per missed occurrence.</summary>
    Strict,
    /// <summary>Missed occurrences are skipped.</summary>
    Ignore,
}

public sealed record RecurringJobOptions
{
    /// <summary>IANA time zone the cron is read in.</summary>
    public string TimeZone { get; set; } = "UTC";
    /// <summary>Queue for the enqueued jobs; default: the kind's queue.</summary>
    public string? Queue { get; set; }
    public MisfirePolicy Misfire { get; set; } = MisfirePolicy.Relaxed;
}

/// <summary>A recurring job as declared in code.</summary>
internal sealed record RecurringJobDeclaration(string Name, CronExpression Cron, TimeZoneInfo Zone, Type ArgsType, object Args, RecurringJobOptions Options);

/// <summary>A recurring job as stored, for the dashboard and the admin API.</summary>
public sealed record RecurringJobInfo(
    string Name,
    string Cron,
    string TimeZone,
    string Kind,
    string ArgsJson,
    string Queue,
    MisfirePolicy Misfire,
    bool Paused,
    DateTimeOffset? NextRunAt,
    DateTimeOffset? LastRunAt,
    long? LastJobId,
    JobState? LastJobState);
