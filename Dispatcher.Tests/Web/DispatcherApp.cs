using Npgsql;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Tests.Web;

/// <summary>The real service (Dispatcher.Web's Program) on Kestrel at 127.0.0.1, configured as by environment variables.</summary>
public sealed class DispatcherApp : IAsyncDisposable
{
    public const string CredentialsKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes, tests only

    private readonly WebApplicationFactory<Program> _factory;

    private DispatcherApp(WebApplicationFactory<Program> factory, string baseUrl)
    {
        _factory = factory;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }
    public IServiceProvider Services => _factory.Services;
    public T Get<T>() where T : notnull => _factory.Services.GetRequiredService<T>();
    public HttpClient CreateClient() => new() { BaseAddress = new Uri(BaseUrl) };

    /// <summary>A free port on 127.0.0.1, for settings that must name the service's own URL before it starts (API_BASE_URL).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <param name="services">Extra registrations, e.g. job kinds a test enqueues.</param>
    public static DispatcherApp Start(string databaseUrl, IReadOnlyDictionary<string, string>? settings = null, int port = 0,
        Action<IServiceCollection>? services = null)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            if (services is not null) web.ConfigureServices(services);
            web.UseSetting("DATABASE_URL", databaseUrl);
            web.UseSetting("CREDENTIALS_KEY", CredentialsKey);
            // Idle Hangfire workers look for work every second, not every minute: several service
            // instances on different databases share this process, and Hangfire's in-process
            // wake-up of a queue's workers may reach another instance's worker.
            web.UseSetting("HANGFIRE_QUEUE_POLL_SECONDS", "1");
            web.UseSetting("HANGFIRE_CAMPAIGN_QUEUE_POLL_SECONDS", "1");
            web.UseSetting("HANGFIRE_SCHEDULE_POLL_SECONDS", "1");
            // Polling every second, a production-sized worker pool would cost the shared test server
            // hundreds of statements a second per instance; a test's few batches need few workers.
            web.UseSetting("CAMPAIGN_WORKERS", "20");
            web.UseSetting("ONBOARDING_WORKERS", "4");
            // Tests of other behaviours run at any hour on the real clock: calling hours are all day
            // unless a test sets its own (the calling-rules tests do).
            web.UseSetting("CALLING_HOURS", "daily 00:00-24:00");
            foreach (var (name, value) in settings ?? new Dictionary<string, string>()) web.UseSetting(name, value);
        });
        factory.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DispatcherApp(factory, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        // Hangfire's storages take their connections from Npgsql's global pools, which keep idle ones
        // for minutes after the service is gone; with test classes side by side on one server, those
        // ran it out of connections once (53300). Other instances' idle ones are merely reopened.
        NpgsqlConnection.ClearAllPools();
    }
}
