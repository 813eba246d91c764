using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Queue;

namespace Dispatcher.Web.Configuration;

/// <summary>
/// Everything the service reads from its environment, checked at start-up: a missing or
/// malformed value stops it with one line that names the variable.
/// </summary>
public sealed record ServiceSettings(string DatabaseUrl, string CredentialsKey, CampaignOptions Campaigns, UltravoxOptions Ultravox,
    Action<QueueOptions> Engine)
{
    public static ServiceSettings Read(IConfiguration config)
    {
        var campaigns = new CampaignOptions();
        var ultravox = new UltravoxOptions();
        var databaseUrl = Required(config, "DATABASE_URL", "a postgres:// URL or an Npgsql connection string");
        try { Dispatcher.Queue.Storage.PostgresUrl.ToConnectionString(databaseUrl); }
        catch (ArgumentException ex) { throw new SettingsException("DATABASE_URL", $"is malformed: {ex.Message}"); }
        var credentialsKey = Required(config, "CREDENTIALS_KEY", "base64 of 32 random bytes, e.g. `openssl rand -base64 32`; it encrypts agencies' API keys");
        if (config["ULTRAVOX_BASE_URL"] is { Length: > 0 } baseUrl)
            ultravox.BaseUrl = Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? baseUrl : throw new SettingsException("ULTRAVOX_BASE_URL", $"'{baseUrl}' is not an http(s) URL");
        if (Seconds(config, "ULTRAVOX_TIMEOUT_SECONDS") is { } timeout) ultravox.RequestTimeout = timeout;
        campaigns.WebhookSecrets = (config["ULTRAVOX_WEBHOOK_SECRETS"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (Cron(config, "CAMPAIGN_TICK_CRON") is { } tick) campaigns.TickCron = tick;
        if (Cron(config, "RECONCILE_CALLS_CRON") is { } reconcileCron) campaigns.ReconcileCron = reconcileCron;
        if (Int(config, "MAX_BATCHES_PER_RUN") is { } max) campaigns.MaxBatchesPerRun = max;
        if (Int(config, "CAMPAIGN_WORKERS") is { } workers) campaigns.Workers = workers;
        if (Seconds(config, "UNKNOWN_CALL_GRACE_SECONDS") is { } grace) campaigns.UnknownCallGrace = grace;
        if (Seconds(config, "UNKNOWN_CALL_RECHECK_SECONDS") is { } recheck) campaigns.UnknownCallRecheck = recheck;
        if (Seconds(config, "RECONCILE_CALLS_AFTER_SECONDS") is { } reconcile) campaigns.ReconcileAfter = reconcile;
        try { _ = new CredentialCipher(credentialsKey); }
        catch (ArgumentException ex) { throw new SettingsException("CREDENTIALS_KEY", ex.Message); }
        var heartbeat = Seconds(config, "QUEUE_HEARTBEAT_SECONDS");
        var rescueAfter = Seconds(config, "QUEUE_RESCUE_AFTER_SECONDS");
        var listen = config["QUEUE_USE_LISTEN_NOTIFY"] switch
        {
            null or "" => true,
            var raw when bool.TryParse(raw, out var value) => value,
            var raw => throw new SettingsException("QUEUE_USE_LISTEN_NOTIFY", $"'{raw}' is not true or false"),
        };
        void Engine(QueueOptions o)
        {
            o.Queues[CampaignServiceCollectionExtensions.Queue] = campaigns.Workers;
            o.UseListenNotify = listen;
            if (heartbeat is { } h) o.HeartbeatInterval = h;
            if (rescueAfter is { } r) o.RescueAfter = r;
        }
        return new ServiceSettings(databaseUrl, credentialsKey, campaigns, ultravox, Engine);
    }

    private static string Required(IConfiguration config, string name, string what) =>
        config[name] is { Length: > 0 } value ? value : throw new SettingsException(name, $"is not set: give {what}");

    private static int? Int(IConfiguration config, string name) => config[name] switch
    {
        null or "" => null,
        var raw when int.TryParse(raw, out var value) && value > 0 => value,
        var raw => throw new SettingsException(name, $"'{raw}' is not a positive whole number"),
    };

    private static string? Cron(IConfiguration config, string name) => config[name] switch
    {
        null or "" => null,
        var raw => Dispatcher.Queue.Recurring.CronExpression.TryParse(raw, out _, out var error) ? raw : throw new SettingsException(name, error!),
    };

    private static TimeSpan? Seconds(IConfiguration config, string name) => Int(config, name) is { } s ? TimeSpan.FromSeconds(s) : null;
}

public sealed class SettingsException(string variable, string problem) : Exception($"{variable} {problem}")
{
    public string Variable { get; } = variable;
}
