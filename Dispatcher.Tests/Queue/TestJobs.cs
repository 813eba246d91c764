using System.Collections.Concurrent;
using Dispatcher.Queue;

namespace Dispatcher.Tests.Queue;

/// <summary>Records every run, so tests can see what ran, how often and when.</summary>
public sealed class RunLog
{
    private readonly ConcurrentQueue<(long JobId, int Attempt, DateTimeOffset At, long Timestamp)> _runs = new();
    private readonly SemaphoreSlim _ran = new(0);

    public IReadOnlyList<(long JobId, int Attempt, DateTimeOffset At, long Timestamp)> Runs => _runs.ToList();

    public void Record(long jobId, int attempt, DateTimeOffset at)
    {
        _runs.Enqueue((jobId, attempt, at, System.Diagnostics.Stopwatch.GetTimestamp()));
        _ran.Release();
    }

    /// <summary>Waits until <paramref name="count"/> more runs happened.</summary>
    public async Task WaitForRunsAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        for (var i = 0; i < count; i++) await _ran.WaitAsync(cts.Token);
    }
}

public sealed record NoteArgs(string Note);

/// <summary>Succeeds at once.</summary>
public sealed class NoteHandler(RunLog log, TimeProvider clock) : IJobHandler<NoteArgs>
{
    public Task<JobResult> RunAsync(JobContext<NoteArgs> job, CancellationToken ct)
    {
        log.Record(job.Id, job.Attempt, clock.GetUtcNow());
        return Task.FromResult(JobResult.Completed);
    }
}

public sealed record FailArgs(int FailTimes);

/// <summary>Throws on the first FailTimes attempts, then succeeds.</summary>
public sealed class FailHandler(RunLog log, TimeProvider clock) : IJobHandler<FailArgs>
{
    public Task<JobResult> RunAsync(JobContext<FailArgs> job, CancellationToken ct)
    {
        log.Record(job.Id, job.Attempt, clock.GetUtcNow());
        if (job.Attempt <= job.Args.FailTimes) throw new InvalidOperationException($"boom on attempt {job.Attempt}");
        return Task.FromResult(JobResult.Completed);
    }
}

public sealed record WaitArgs(int Milliseconds);

/// <summary>Waits (honouring cancellation), then succeeds.</summary>
public sealed class WaitHandler(RunLog log, TimeProvider clock) : IJobHandler<WaitArgs>
{
    public async Task<JobResult> RunAsync(JobContext<WaitArgs> job, CancellationToken ct)
    {
        log.Record(job.Id, job.Attempt, clock.GetUtcNow());
        await Task.Delay(job.Args.Milliseconds, ct);
        return JobResult.Completed;
    }
}
