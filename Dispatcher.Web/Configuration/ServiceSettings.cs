using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Queue;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Jobs.Onboarding.Twilio;

namespace Dispatcher.Web.Configuration;

/// <summary>
/// Everything the service reads from its environment, checked at start-up: a missing or
/// malformed value stops it with one line that names the variable.
/// </summary>
public sealed record ServiceSettings(string DatabaseUrl, string CredentialsKey, CampaignOptions Campaigns, UltravoxOptions Ultravox,
    OnboardingOptions? Onboarding, TwilioOptions? Twilio, IReadOnlyList<string> ApiKeys, Action<QueueOptions> Engine)
{
    public static ServiceSettings Read(IConfiguration config)
    {
        var campaigns = new CampaignOptions();
        var ultravox = new UltravoxOptions();
        var databaseUrl = Required(config, "DATABASE_URL", "a postgres:// URL or an Npgsql connection string");
        try { Dispatcher.Queue.Storage.PostgresUrl.ToConnectionString(databaseUrl); }
        catch (ArgumentException ex) { throw new SettingsException("DATABASE_URL", $"is malformed: {ex.Message}"); }
        var credentialsKey = Required(config, "CREDENTIALS_KEY", "base64 of 32 random bytes, e.g. `openssl rand -base64 32`; it encrypts agencies' API keys");
        if (Url(config, "ULTRAVOX_BASE_URL") is { } baseUrl) ultravox.BaseUrl = baseUrl;
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
        var (onboarding, twilio) = ReadOnboarding(config);
        var apiKeys = (config["API_KEYS"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        void Engine(QueueOptions o)
        {
            o.Queues[CampaignServiceCollectionExtensions.Queue] = campaigns.Workers;
            if (onboarding is not null) o.Queues[OnboardingServiceCollectionExtensions.Queue] = onboarding.Workers;
            o.UseListenNotify = listen;
            if (heartbeat is { } h) o.HeartbeatInterval = h;
            if (rescueAfter is { } r) o.RescueAfter = r;
        }
        return new ServiceSettings(databaseUrl, credentialsKey, campaigns, ultravox, onboarding, twilio, apiKeys, Engine);
    }

    /// <summary>Twilio settings come as a group: none (onboarding calls off) or all that are needed.</summary>
    private static (OnboardingOptions?, TwilioOptions?) ReadOnboarding(IConfiguration config)
    {
        if (config["TWILIO_ACCOUNT_SID"] is not { Length: > 0 } sid) return (null, null);
        if (!sid.StartsWith("AC", StringComparison.Ordinal) || sid.Length != 34) throw new SettingsException("TWILIO_ACCOUNT_SID", "must be AC followed by 32 hex digits");
        var twilio = new TwilioOptions
        {
            AccountSid = sid,
            AuthToken = Required(config, "TWILIO_AUTH_TOKEN", "the account's auth token (it also signs Twilio's requests to us)"),
            ApiKeySid = config["TWILIO_API_KEY_SID"] is { Length: > 0 } keySid ? keySid : null,
            ApiKeySecret = config["TWILIO_API_KEY_SECRET"] is { Length: > 0 } keySecret ? keySecret : null,
            FromNumber = Required(config, "TWILIO_PHONE_NUMBER", "the caller number in E.164, e.g. +14155550123"),
        };
        if ((twilio.ApiKeySid is null) != (twilio.ApiKeySecret is null))
            throw new SettingsException(twilio.ApiKeySid is null ? "TWILIO_API_KEY_SID" : "TWILIO_API_KEY_SECRET", "is needed with its pair");
        if (!PhoneNumber.IsE164(twilio.FromNumber)) throw new SettingsException("TWILIO_PHONE_NUMBER", $"'{twilio.FromNumber}' is not in E.164 form");
        if (Url(config, "TWILIO_BASE_URL") is { } twilioBase) twilio.BaseUrl = twilioBase;
        if (Seconds(config, "TWILIO_TIMEOUT_SECONDS") is { } timeout) twilio.RequestTimeout = timeout;
        var onboarding = new OnboardingOptions
        {
            ApiBaseUrl = Url(config, "API_BASE_URL") ?? throw new SettingsException("API_BASE_URL", "is not set: give this service's public URL, which Twilio calls back"),
        };
        if (Int(config, "CALL_DISPATCHER_LIMIT") is { } limit) onboarding.DispatchLimit = limit;
        if (Int(config, "ONBOARDING_WORKERS") is { } workers) onboarding.Workers = workers;
        if (Seconds(config, "ONBOARDING_RETRY_BASE_SECONDS") is { } retry) onboarding.RetryBase = retry;
        if (config["ONBOARDING_VOICE"] is { Length: > 0 } voice) onboarding.Voice = voice;
        if (Url(config, "VOICE_AGENT_STREAM_URL", "ws", "wss") is { } stream) onboarding.VoiceAgentStreamUrl = stream;
        if (config["TWILIO_MACHINE_DETECTION"] is { Length: > 0 } amd) onboarding.MachineDetection = amd;
        if (Int(config, "TWILIO_RING_TIMEOUT_SECONDS") is { } ring) onboarding.RingTimeoutSeconds = ring;
        if (config["ONBOARDING_SCRIPTS"] is { Length: > 0 } scripts)
        {
            try
            {
                var parsed = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(scripts) ?? [];
                var merged = new Dictionary<string, string>(onboarding.Scripts); // the default script stays unless replaced
                foreach (var (mode, script) in parsed) merged[mode] = script;
                onboarding.Scripts = merged;
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new SettingsException("ONBOARDING_SCRIPTS", $"is not a JSON object of signup_mode to script: {ex.Message}");
            }
        }
        return (onboarding, twilio);
    }

    private static string? Url(IConfiguration config, string name, params string[] schemes)
    {
        if (config[name] is not { Length: > 0 } raw) return null;
        var allowed = schemes.Length > 0 ? schemes : ["http", "https"];
        return Uri.TryCreate(raw, UriKind.Absolute, out var uri) && allowed.Contains(uri.Scheme)
            ? raw.TrimEnd('/') : throw new SettingsException(name, $"'{raw}' is not an absolute {string.Join("/", allowed)} URL");
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
