extern alias web;

using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using ServiceProgram = web::Program;

namespace Dispatcher.Bench;

/// <summary>
/// The real service (Dispatcher.Web's Program) in this process on Kestrel at 127.0.0.1, configured
/// by its environment settings, as the tests' DispatcherApp starts it. stdout carries only the
/// benchmark's result line: the service logs warnings and worse to stderr.
/// </summary>
public sealed class BenchService : IAsyncDisposable
{
    private const string CredentialsKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // any 32 bytes: benchmark only

    private readonly WebApplicationFactory<ServiceProgram> _factory;

    private BenchService(WebApplicationFactory<ServiceProgram> factory, string baseUrl)
    {
        _factory = factory;
        BaseUrl = baseUrl;
    }

    /// <summary>http://127.0.0.1:port, without a trailing slash.</summary>
    public string BaseUrl { get; }

    public IServiceProvider Services => _factory.Services;

    public T Get<T>() where T : notnull => _factory.Services.GetRequiredService<T>();

    /// <param name="settings">Settings beyond DATABASE_URL and CREDENTIALS_KEY.</param>
    /// <param name="port">0 for any free port.</param>
    public static BenchService Start(string connectionString, IReadOnlyDictionary<string, string>? settings = null, int port = 0)
    {
        var factory = new WebApplicationFactory<ServiceProgram>().WithWebHostBuilder(web =>
        {
            // As deployed (Render runs Production): WebApplicationFactory would pick Development, whose
            // developer exception page and service-provider scope checks a deployed service does not pay for.
            web.UseEnvironment("Production");
            web.UseSetting("DATABASE_URL", connectionString);
            web.UseSetting("CREDENTIALS_KEY", CredentialsKey);
            // Figures must not depend on the hour the benchmark runs: all-day calling hours, whose
            // window and do-not-call checks still run in every reservation.
            web.UseSetting("CALLING_HOURS", "daily 00:00-24:00");
            foreach (var (name, value) in settings ?? new Dictionary<string, string>()) web.UseSetting(name, value);
            web.ConfigureLogging(logging => logging
                .ClearProviders()
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddFilter<ConsoleLoggerProvider>(null, LogLevel.Warning));
        });
        factory.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BenchService(factory, address.TrimEnd('/'));
    }

    /// <summary>A free port on 127.0.0.1, for settings that must name the service's own URL before it starts (API_BASE_URL).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync() => _factory.DisposeAsync();
}
