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
        try
        {
            server.SendStop();
            await server.WaitForShutdownAsync(cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: Hangfire's Dispose waits for the shutdown before it lets go of
            // its handles, so the server has stopped, which is all this waits for. (Seen once in
            // CI, a host test's dispose; the stop threw from Hangfire's wait on a disposed handle.)
        }
    }

    public void Dispose()
    {
        _server?.Dispose();
        _server = null;
    }
}
