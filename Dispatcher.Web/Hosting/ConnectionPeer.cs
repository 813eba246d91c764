using System.Net;

namespace Dispatcher.Web.Hosting;

/// <summary>
/// The address at the other end of the TCP connection, kept before X-Forwarded-For rewrites the
/// remote address: a client talking to the service directly could otherwise claim to be 127.0.0.1.
/// </summary>
public sealed record ConnectionPeer(IPAddress? Address)
{
    public static IApplicationBuilder UseConnectionPeer(IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            context.Features.Set(new ConnectionPeer(context.Connection.RemoteIpAddress));
            return next(context);
        });

    /// <summary>The recorded peer, or the remote address when nothing recorded it (forwarding off).</summary>
    public static IPAddress? Of(HttpContext context) =>
        context.Features.Get<ConnectionPeer>() is { } peer ? peer.Address : context.Connection.RemoteIpAddress;
}
