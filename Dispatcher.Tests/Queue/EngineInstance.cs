using Dispatcher.Queue;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Tests.Queue;

/// <summary>One running engine instance on a test database, as a service would host it.</summary>
public sealed class EngineInstance : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private EngineInstance(ServiceProvider services)
    {
        _services = services;
    }

    public IServiceProvider Services => _services;
    public QueueHost Host => _services.GetRequiredService<QueueHost>();
    public JobClient Client => _services.GetRequiredService<JobClient>();

    /// <summary>Options default to quick test timings; <paramref name="register"/> adds job kinds and the like.</summary>
    public static async Task<EngineInstance> StartAsync(string connectionString, Action<IServiceCollection>? register = null,
        Action<QueueOptions>? configure = null, TimeProvider? clock = null, bool start = true)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        if (clock is not null) services.AddSingleton(clock);
        services.AddDispatcherQueue(connectionString, o =>
        {
            o.StageInterval = TimeSpan.FromMilliseconds(50);
            o.PollInterval = TimeSpan.FromMilliseconds(500);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
            o.RescueAfter = TimeSpan.FromSeconds(3);
            o.RescueInterval = TimeSpan.FromMilliseconds(250);
            o.LeaderLease = TimeSpan.FromSeconds(3);
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            configure?.Invoke(o);
        });
        register?.Invoke(services);
        var provider = services.BuildServiceProvider();
        var instance = new EngineInstance(provider);
        if (start) await instance.Host.StartAsync(CancellationToken.None);
        return instance;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
    }
}
