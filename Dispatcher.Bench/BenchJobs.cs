using Dispatcher.Queue;

namespace Dispatcher.Bench;

/// <summary>Counts runs and remembers when each job started, for throughput and latency.</summary>
public sealed class BenchProbe
{
    private long _runs;
    public long Runs => Interlocked.Read(ref _runs);
    public TaskCompletionSource<long> Started { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Ran()
    {
        Interlocked.Increment(ref _runs);
        Started.TrySetResult(System.Diagnostics.Stopwatch.GetTimestamp());
    }
}

public sealed record NoopArgs(int N);

public sealed class NoopHandler(BenchProbe probe) : IJobHandler<NoopArgs>
{
    public Task<JobResult> RunAsync(JobContext<NoopArgs> job, CancellationToken ct)
    {
        probe.Ran();
        return Task.FromResult(JobResult.Completed);
    }
}

public sealed record SleepArgs(int Milliseconds);

/// <summary>A job that takes a while: what the crash test kills a worker in the middle of.</summary>
public sealed class SleepHandler : IJobHandler<SleepArgs>
{
    public async Task<JobResult> RunAsync(JobContext<SleepArgs> job, CancellationToken ct)
    {
        await Task.Delay(job.Args.Milliseconds, ct);
        return JobResult.Completed;
    }
}
