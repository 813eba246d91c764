using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Tests.Fakes;

/// <summary>
/// What the provider fakes share: a bare Kestrel listener at 127.0.0.1 on a free port, and the
/// background work their calls start (call lifecycles, callback deliveries), which stopping cancels
/// and waits for.
/// </summary>
public sealed class FakeServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<int, Task> _background = new();
    private readonly WebApplication _app;

    private FakeServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>e.g. http://127.0.0.1:40123, without a trailing slash.</summary>
    public string BaseUrl { get; }

    /// <summary>Cancelled when the fake stops: pending waits and deliveries end.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Background tasks not yet finished.</summary>
    public int Pending => _background.Count;

    /// <param name="map">The fake's middleware and routes.</param>
    public static async Task<FakeServer> StartAsync(Action<WebApplication> map)
    {
        // The empty builder reads no configuration or environment, so nothing but this listener is bound.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new FakeServer(app, address.TrimEnd('/'));
    }

    /// <summary>Keeps <paramref name="task"/> until it finishes, so stopping can wait for it.</summary>
    public void Track(Task task)
    {
        _background[task.Id] = task;
        task.ContinueWith(t => _background.TryRemove(t.Id, out _), TaskScheduler.Default);
    }

    /// <summary>
    /// The request's whole body and its headers. The body is read first because Kestrel notices a
    /// client that hangs up only once the body is consumed.
    /// </summary>
    public static async Task<(string Body, Dictionary<string, string> Headers)> ReadRequestAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        return (body, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Holds a request for <paramref name="duration"/> (a hanging provider). The client may give up
    /// meanwhile: the server side goes on regardless, as a real one would. False, with the connection
    /// aborted, when the fake is stopping.
    /// </summary>
    public async Task<bool> HoldAsync(HttpContext context, TimeSpan duration, TimeProvider clock)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, Stopping);
        try
        {
            await Task.Delay(duration, clock, waiting.Token);
        }
        catch (OperationCanceledException)
        {
            // The client gave up, or the fake stops.
        }
        if (!Stopping.IsCancellationRequested) return true;
        context.Abort();
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        try
        {
            await Task.WhenAll(_background.Values);
        }
        catch (OperationCanceledException)
        {
            // Pending work was cancelled on purpose.
        }
        _stopping.Dispose();
    }
}
