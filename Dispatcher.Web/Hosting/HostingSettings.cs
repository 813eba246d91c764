using Dispatcher.Web.Campaigns;
using Dispatcher.Web.Configuration;

namespace Dispatcher.Web.Hosting;

/// <summary>How the service runs in its host (Render, Docker, a terminal): logs, proxy, shutdown, upload size.</summary>
public sealed record HostingSettings(bool JsonLogs, bool ForwardedHeaders, TimeSpan ShutdownTimeout, long MaxUploadBytes)
{
    /// <summary>Render sends SIGKILL 30 s after SIGTERM (by default): stop well within that.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(25);

    /// <summary>
    /// Running jobs get this long to finish on SIGTERM; the rest of the shutdown window is for
    /// cancelling the stragglers (2 s), writing outcomes and handing unfinished jobs back.
    /// </summary>
    public TimeSpan JobGrace => ShutdownTimeout > TimeSpan.FromSeconds(16) ? ShutdownTimeout - TimeSpan.FromSeconds(8) : ShutdownTimeout / 2;

    public static HostingSettings Read(IConfiguration config)
    {
        var json = config["LOG_FORMAT"] switch
        {
            null or "" or "json" => true,
            "text" => false,
            var raw => throw new SettingsException("LOG_FORMAT", $"'{raw}' is not json or text"),
        };
        var forwarded = Bool(config, "FORWARDED_HEADERS", true);
        var shutdown = config["SHUTDOWN_TIMEOUT_SECONDS"] switch
        {
            null or "" => DefaultShutdownTimeout,
            var raw when int.TryParse(raw, out var s) && s is >= 2 and <= 3600 => TimeSpan.FromSeconds(s),
            var raw => throw new SettingsException("SHUTDOWN_TIMEOUT_SECONDS", $"'{raw}' is not a whole number of seconds from 2 to 3600"),
        };
        var upload = config["API_MAX_UPLOAD_BYTES"] switch
        {
            null or "" => CampaignApi.DefaultMaxUploadBytes,
            var raw when long.TryParse(raw, out var b) && b > 0 => b,
            var raw => throw new SettingsException("API_MAX_UPLOAD_BYTES", $"'{raw}' is not a positive whole number of bytes"),
        };
        return new HostingSettings(json, forwarded, shutdown, upload);
    }

    private static bool Bool(IConfiguration config, string name, bool fallback) => config[name] switch
    {
        null or "" => fallback,
        var raw when bool.TryParse(raw, out var value) => value,
        var raw => throw new SettingsException(name, $"'{raw}' is not true or false"),
    };
}
