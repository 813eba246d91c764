using Hangfire;
using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// One Hangfire server of this instance, started with the host and stopped with it: on SIGTERM it
/// stops fetching and waits for running jobs up to its ShutdownTimeout. A singleton created at
/// start (Hangfire's own factory-based hosted service is transient, and its server starts the
/// moment it is made).
/// </summary>
public sealed class HangfireServerHost(Func<BackgroundJobServer> create) : IHostedService, IDisposable
{
    private BackgroundJobServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _server ??= create();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not { } server) return;
        server.SendStop();
        await server.WaitForShutdownAsync(cancellationToken);
    }

    public void Dispose()
    {
        _server?.Dispose();
        _server = null;
    }
}
