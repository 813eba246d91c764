namespace Dispatcher.Queue.Monitoring;

/// <summary>Jobs per state (every state present, zeros included) and per queue and state (pairs with jobs only).</summary>
public sealed record StateCounts(IReadOnlyDictionary<JobState, long> ByState, IReadOnlyList<QueueCount> ByQueue);

public sealed record QueueCount(string Queue, JobState State, long Count);

/// <summary>Jobs that reached completed (succeeded) or discarded (failed) in the bucket starting at <paramref name="At"/>.</summary>
public sealed record ThroughputPoint(DateTimeOffset At, long Succeeded, long Failed);

/// <summary>
/// Which jobs a list or a bulk action covers; null means any. <paramref name="Text"/> is a plain
/// substring (no wildcards) searched case-insensitively in the args JSON.
/// </summary>
public sealed record JobFilter(JobState? State = null, string? Queue = null, string? Kind = null, string? Text = null)
{
    public static JobFilter All { get; } = new();
}

/// <summary>A job as lists show it: no args, no error history (only the latest message).</summary>
public sealed record JobSummary(
    long Id,
    string Kind,
    string Queue,
    JobState State,
    short Priority,
    int Attempt,
    int MaxAttempts,
    IReadOnlyList<string> Tags,
    DateTimeOffset CreatedAt,
    DateTimeOffset ScheduledAt,
    DateTimeOffset? AttemptedAt,
    string? AttemptedBy,
    DateTimeOffset? FinalizedAt,
    string? LastError);

/// <summary>Everything about one job, every failed attempt included.</summary>
public sealed record JobDetails(JobSummary Job, string ArgsJson, string MetadataJson, string? UniqueKey, IReadOnlyList<JobError> Errors);

/// <summary>
/// One page, newest first. Pass <paramref name="NextBeforeId"/> as beforeId for the next (older) page; null on the last page.
/// A page of newer jobs also sets <paramref name="NewerAfterId"/>, to pass as afterId for the page above it, while newer jobs remain.
/// </summary>
public sealed record JobPage(IReadOnlyList<JobSummary> Jobs, long? NextBeforeId, long? NewerAfterId = null);

/// <summary>An engine instance as its heartbeat row shows it, with how many jobs it runs now.</summary>
public sealed record WorkerInfo(
    string Id,
    string Host,
    int Pid,
    IReadOnlyDictionary<string, int> Queues,
    DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt,
    int RunningJobs);
