namespace Dispatcher.Queue;

/// <summary>A job as a worker claimed it: attempt already counted, state running.</summary>
internal sealed record ClaimedJob(
    long Id,
    string Kind,
    string Queue,
    string ArgsJson,
    int Attempt,
    int MaxAttempts,
    string[] Tags,
    DateTimeOffset CreatedAt,
    DateTimeOffset ScheduledAt);
