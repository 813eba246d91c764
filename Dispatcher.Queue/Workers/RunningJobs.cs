using System.Collections.Concurrent;

namespace Dispatcher.Queue.Workers;

/// <summary>The jobs this process is running, so an operator's cancel can reach them.</summary>
internal sealed class RunningJobs
{
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _jobs = new();

    public int Count => _jobs.Count;

    public void Add(long jobId, CancellationTokenSource cancel) => _jobs[jobId] = cancel;

    public void Remove(long jobId) => _jobs.TryRemove(jobId, out _);

    public void Cancel(long jobId)
    {
        if (_jobs.TryGetValue(jobId, out var cancel))
        {
            try { cancel.Cancel(); }
            catch (ObjectDisposedException) { }
        }
    }
}
