namespace Dispatcher.Queue;

/// <summary>
/// The life of a job. Transitions:
/// enqueue -> available | scheduled;  scheduled | retryable -> available (stager, when due);
/// available -> running (claim);  running -> completed | retryable | discarded | cancelled | scheduled (snooze)
/// | available (handed back at shutdown);  any unfinished -> cancelled (operator);
/// retryable | discarded | cancelled | completed -> available (operator "retry now").
/// </summary>
public enum JobState
{
    Available,
    Scheduled,
    Running,
    Retryable,
    Completed,
    Discarded,
    Cancelled,
}

public static class JobStates
{
    public static string ToDb(this JobState state) => state switch
    {
        JobState.Available => "available",
        JobState.Scheduled => "scheduled",
        JobState.Running => "running",
        JobState.Retryable => "retryable",
        JobState.Completed => "completed",
        JobState.Discarded => "discarded",
        JobState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static JobState Parse(string value) => value switch
    {
        "available" => JobState.Available,
        "scheduled" => JobState.Scheduled,
        "running" => JobState.Running,
        "retryable" => JobState.Retryable,
        "completed" => JobState.Completed,
        "discarded" => JobState.Discarded,
        "cancelled" => JobState.Cancelled,
        _ => throw new ArgumentException($"unknown job state '{value}'", nameof(value)),
    };

    public static bool IsFinal(this JobState state) =>
        state is JobState.Completed or JobState.Discarded or JobState.Cancelled;
}
