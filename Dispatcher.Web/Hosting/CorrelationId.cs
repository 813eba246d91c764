using System.Diagnostics;
using System.Text.RegularExpressions;
using Dispatcher.Jobs;

namespace Dispatcher.Web.Hosting;

/// <summary>
/// Gives each request a correlation id: the caller's X-Request-Id when it is sane, else the trace
/// id of its traceparent, else a new one. It becomes HttpContext.TraceIdentifier (and so the
/// request_id of problem answers), is echoed as X-Request-Id, and is in the scope of every log
/// line the request writes, ending with one line that sums the request up (at Debug for
/// successful machine traffic: probes, metrics scrapes, provider webhooks, the simulator's provider calls).
/// </summary>
public sealed partial class CorrelationId(RequestDelegate next, ILoggerFactory logs)
{
    public const string Header = "X-Request-Id";
    private readonly ILogger _logger = logs.CreateLogger("Dispatcher.Web.Requests");

    public async Task InvokeAsync(HttpContext context)
    {
        var id = Choose(context.Request);
        context.TraceIdentifier = id;
        context.Response.Headers[Header] = id;
        using var scope = _logger.BeginScope(new LogScope(new KeyValuePair<string, object>("CorrelationId", id)));
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var path = context.Request.Path;
            var status = context.Response.StatusCode;
            // Machine traffic (probes, scrapes, provider callbacks, the simulated providers) comes many times a second: logged only when it
            // went wrong, or at Debug. Its outcomes are counted on /metrics.
            var level = status >= 500 ? LogLevel.Warning
                : status >= 400 || !MachineTraffic(path) ? LogLevel.Information
                : LogLevel.Debug;
            _logger.Log(level, "{Method} {Scheme}://{Host}{Path} from {RemoteIp} answered {StatusCode} in {ElapsedMs:0.0} ms",
                context.Request.Method, context.Request.Scheme, context.Request.Host.Value, path.Value, context.Connection.RemoteIpAddress,
                context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private static bool MachineTraffic(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics")
        || path.StartsWithSegments("/webhooks") || path.StartsWithSegments("/twiml") || path.StartsWithSegments("/simulator");

    private static string Choose(HttpRequest request)
    {
        if (request.Headers[Header].FirstOrDefault() is { } given && SafeId().IsMatch(given)) return given;
        if (request.Headers["traceparent"].FirstOrDefault() is { } parent && TraceParent().Match(parent) is { Success: true } trace)
            return trace.Groups[1].Value;
        return Activity.Current?.TraceId.ToHexString() ?? Guid.NewGuid().ToString("N");
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex SafeId();

    // version-traceid-parentid-flags (W3C Trace Context); an all-zero trace id is invalid.
    [GeneratedRegex("^[0-9a-f]{2}-((?!0{32})[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")]
    private static partial Regex TraceParent();
}
