namespace Dispatcher.Queue;

/// <summary>Runs jobs of one kind. Resolved from a fresh DI scope for every attempt.</summary>
public interface IJobHandler<TArgs> where TArgs : notnull
{
    Task<JobResult> RunAsync(JobContext<TArgs> job, CancellationToken cancellationToken);
}

/// <summary>One attempt of a job, as its handler sees it.</summary>
public sealed record JobContext<TArgs>(
    long Id,
    string Kind,
    string Queue,
    TArgs Args,
    int Attempt,
    int MaxAttempts,
    IReadOnlyList<string> Tags,
    DateTimeOffset CreatedAt)
{
    public bool IsLastAttempt => Attempt >= MaxAttempts;
}
