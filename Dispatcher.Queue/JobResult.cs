namespace Dispatcher.Queue;

/// <summary>What a handler decided. Throwing an exception means "failed: retry if attempts remain".</summary>
public abstract record JobResult
{
    public static JobResult Completed { get; } = new CompletedResult();

    /// <summary>Run again after <paramref name="delay"/> without spending an attempt.</summary>
    public static JobResult Snooze(TimeSpan delay) => new SnoozeResult(delay, null);

    /// <summary>Run again at <paramref name="at"/> without spending an attempt.</summary>
    public static JobResult SnoozeUntil(DateTimeOffset at) => new SnoozeResult(null, at);

    /// <summary>Stop for good without retrying; the job ends cancelled with the reason kept.</summary>
    public static JobResult Cancel(string reason) => new CancelResult(reason);

    internal sealed record CompletedResult : JobResult;
    internal sealed record SnoozeResult(TimeSpan? Delay, DateTimeOffset? At) : JobResult;
    internal sealed record CancelResult(string Reason) : JobResult;
}
