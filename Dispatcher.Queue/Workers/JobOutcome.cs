namespace Dispatcher.Queue.Workers;

/// <summary>The state a finished attempt moves its job to, written by the completer.</summary>
internal readonly record struct JobOutcome(
    long Id,
    JobState State,
    DateTimeOffset? ScheduledAt = null,
    bool RefundAttempt = false,
    string? ErrorJson = null,
    DateTimeOffset? FinalizedAt = null);
