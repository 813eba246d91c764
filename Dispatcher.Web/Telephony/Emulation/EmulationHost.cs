using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// An emulated provider on a Kestrel listener of its own at 127.0.0.1 on a free port, as the tests
/// and the benchmarks run it (the service in simulated mode serves it under /simulator instead).
/// </summary>
public sealed class EmulationHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmulationHost(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>e.g. http://127.0.0.1:40123, without a trailing slash.</summary>
    public string BaseUrl { get; }

    /// <param name="map">The emulation's routes.</param>
    public static async Task<EmulationHost> StartAsync(Action<IEndpointRouteBuilder> map)
    {
        // The empty builder reads no configuration or environment, so nothing but this listener is bound.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new EmulationHost(app, address.TrimEnd('/'));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
