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

    /// <summary>
    /// Both the client (as forwarded by a proxy) and the TCP peer itself are loopback or the machine's
    /// own address: a forwarded "127.0.0.1" from a remote peer, or any client of a remote proxy
    /// (Render's), is not local. No addresses at all means an in-process test server.
    /// </summary>
    public static bool IsLocal(HttpContext context)
    {
        var local = context.Connection.LocalIpAddress;
        return IsLocal(context.Connection.RemoteIpAddress, local) && IsLocal(Of(context), local);
    }

    private static bool IsLocal(IPAddress? remote, IPAddress? local)
    {
        if (remote is null) return local is null;
        if (IPAddress.IsLoopback(remote)) return true;
        return local is not null && remote.Equals(local);
    }
}
