namespace Dispatcher.Web.Configuration;

/// <summary>
/// Whether calls go to the real providers or to the built-in simulator [TELEPHONY_MODE], and why.
/// One instance per process, so the dashboard and the health endpoints can say which it is.
/// </summary>
public sealed record TelephonyMode(bool Simulated, string Reason)
{
    public string Name => Simulated ? "simulated" : "live";

    public override string ToString() => $"{Name} ({Reason})";
}

public static class TelephonyModeLog
{
    /// <summary>Said at start-up, as a warning when simulated, so nobody runs the simulator in production unawares.</summary>
    public static void LogTelephonyMode(this ILogger logger, ServiceSettings settings)
    {
        if (settings.Simulator is { } simulator)
            logger.LogWarning("Telephony is SIMULATED ({Reason}): no real calls are placed; Ultravox and Twilio are played by this service at {Url}/simulator, webhooks go to {PublicUrl}",
                settings.Telephony.Reason, simulator.LocalUrl, simulator.PublicUrl);
        else
            logger.LogInformation("Telephony is live ({Reason}): Ultravox at {UltravoxUrl}, Twilio {Twilio}", settings.Telephony.Reason,
                settings.Ultravox.BaseUrl, settings.Twilio is null ? "off" : settings.Twilio.BaseUrl);
        if (!settings.Telephony.Simulated && settings.Campaigns.WebhookSecrets.Count == 0)
            logger.LogWarning("ULTRAVOX_WEBHOOK_SECRETS is not set: every Ultravox webhook is refused, and campaign calls end only through reconciliation");
        foreach (var name in settings.RetiredSettingsSet)
            logger.LogWarning("{Setting} is set but no longer used: Hangfire runs the jobs now (see the HANGFIRE_* settings in the README)", name);
    }
}
