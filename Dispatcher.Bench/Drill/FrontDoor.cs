extern alias web;

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using web::Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Bench.Drill;

/// <summary>
/// The service's public address (API_BASE_URL), as a load balancer gives it: each request goes to
/// a live instance, and to another one when that instance dies before answering (requests that
/// reach it are webhooks and idempotent API calls, which may be sent again).
/// </summary>
public sealed class FrontDoor : IAsyncDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
        { "Host", "Connection", "Transfer-Encoding", "Content-Length", "Keep-Alive", "Upgrade" };

    private readonly IReadOnlyList<ServiceInstance> _instances;
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
    }) { Timeout = TimeSpan.FromSeconds(30) };
    private EmulationHost? _host;
    private int _next;

    private FrontDoor(IReadOnlyList<ServiceInstance> instances) => _instances = instances;

    /// <summary>e.g. http://127.0.0.1:40123, without a trailing slash.</summary>
    public string BaseUrl => _host?.BaseUrl ?? throw new InvalidOperationException("not started");

    public static async Task<FrontDoor> StartAsync(IReadOnlyList<ServiceInstance> instances)
    {
        var door = new FrontDoor(instances);
        door._host = await EmulationHost.StartAsync(routes => routes.Map("/{**path}", (RequestDelegate)door.ForwardAsync));
        return door;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var instance = Pick();
            if (instance is not null)
            {
                try
                {
                    using var response = await _client.SendAsync(Copy(context.Request, instance.BaseUrl, body), context.RequestAborted);
                    context.Response.StatusCode = (int)response.StatusCode;
                    foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
                        if (!HopHeaders.Contains(name)) context.Response.Headers[name] = values.ToArray();
                    await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
                    return;
                }
                catch (HttpRequestException)
                {
                    // The instance died (or is dying): another one takes the request.
                }
            }
            if (DateTime.UtcNow > deadline || context.RequestAborted.IsCancellationRequested)
            {
                context.Response.StatusCode = (int)HttpStatusCode.BadGateway;
                return;
            }
            await Task.Delay(200, context.RequestAborted);
        }
    }

    private ServiceInstance? Pick()
    {
        var ready = _instances.Where(i => i.IsReady).ToArray();
        return ready.Length == 0 ? null : ready[(int)((uint)Interlocked.Increment(ref _next) % ready.Length)];
    }

    private static HttpRequestMessage Copy(HttpRequest request, string baseUrl, byte[] body)
    {
        var message = new HttpRequestMessage(new HttpMethod(request.Method), baseUrl + request.Path + request.QueryString)
        {
            Content = new ByteArrayContent(body),
        };
        foreach (var (name, values) in request.Headers)
        {
            if (HopHeaders.Contains(name)) continue;
            if (!message.Headers.TryAddWithoutValidation(name, values.ToArray()))
                message.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
        }
        return message;
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        _client.Dispose();
    }
}
