using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Hangfire's client and storage are synchronous: each enqueue, state change or job move made from
/// a request or a dispatch pass holds a thread-pool thread through its statements. Once its threads
/// are busy the pool adds more slowly (a couple a second), and meanwhile every async continuation
/// waits too: at 100 signups a second the onboarding benchmark stalled for 3-4 s that way. The pool
/// makes threads up to its minimum at once, so the minimum is raised to what such bursts block.
/// </summary>
public sealed class ThreadPoolReserve : IHostedService
{
    /// <summary>Two onboarding dispatch passes of eight enqueues each, with room for requests and callbacks that move jobs.</summary>
    public const int Threads = 64;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (workers < Threads) ThreadPool.SetMinThreads(Threads, completionPorts);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
