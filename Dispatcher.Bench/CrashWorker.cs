using Dispatcher.Queue;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Bench;

/// <summary>One engine instance in its own process, for tests that kill a worker mid-job.</summary>
public static class CrashWorker
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var url = args.Text("database-url") ?? throw new ArgumentException("--database-url is required");
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<BenchProbe>();
        services.AddDispatcherQueue(url, o =>
        {
            o.Queues = new() { [args.Text("queue") ?? "default"] = args.Int("concurrency", 4) };
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(args.Int("heartbeat-ms", 500));
            o.RescueAfter = o.HeartbeatInterval * 6;
            o.LeaderLease = TimeSpan.FromMilliseconds(args.Int("lease-ms", 3000));
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(args.Int("shutdown-ms", 20_000));
        });
        services.AddJob<NoopArgs, NoopHandler>("noop");
        services.AddJob<SleepArgs, SleepHandler>("sleep");
        await using var provider = services.BuildServiceProvider();
        var host = provider.GetRequiredService<QueueHost>();
        await host.StartAsync(CancellationToken.None);
        Console.WriteLine($"ready {host.WorkerId}");

        var stop = new TaskCompletionSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
        await stop.Task;
        await host.StopAsync(CancellationToken.None);
        return 0;
    }
}
