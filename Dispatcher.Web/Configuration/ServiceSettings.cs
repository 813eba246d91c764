using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Web.Hosting;
using Dispatcher.Web.Simulation;

namespace Dispatcher.Web.Configuration;

/// <summary>
/// Everything the service reads from its environment, checked at start-up: a missing or
/// malformed value stops it with one line that names the variable.
/// </summary>
public sealed record ServiceSettings(string DatabaseUrl, string CredentialsKey, CampaignOptions Campaigns, UltravoxOptions Ultravox,
    OnboardingOptions? Onboarding, TwilioOptions? Twilio, IReadOnlyList<string> ApiKeys,
    TelephonyMode Telephony, SimulatorOptions? Simulator, bool DemoData, int? Port, HangfireSettings Hangfire, IReadOnlyList<string> RetiredSettingsSet,
    CallingRulesOptions CallingRules)
{
    /// <summary>Settings of the job engine Hangfire replaced: a set one is named in a start-up warning, and otherwise ignored.</summary>
    public static readonly IReadOnlyList<string> Retired = ["QUEUE_HEARTBEAT_SECONDS", "QUEUE_RESCUE_AFTER_SECONDS", "QUEUE_USE_LISTEN_NOTIFY"];

    /// <summary>The settings that point at a real provider; with none of them the service may simulate.</summary>
    public static readonly IReadOnlyList<string> LiveTelephonySettings = ["ULTRAVOX_BASE_URL", "ULTRAVOX_WEBHOOK_SECRETS", "TWILIO_ACCOUNT_SID"];

    /// <param name="environmentName">ASP.NET Core's environment: in Production nothing is simulated unless asked for.</param>
    public static ServiceSettings Read(IConfiguration config, string environmentName = "Production")
    {
        var campaigns = new CampaignOptions();
        var ultravox = new UltravoxOptions();
        var databaseUrl = Required(config, "DATABASE_URL", "a postgres:// URL or an Npgsql connection string");
        try { PostgresUrl.ToConnectionString(databaseUrl); }
        catch (ArgumentException ex) { throw new SettingsException("DATABASE_URL", $"is malformed: {ex.Message}"); }
        var credentialsKey = Required(config, "CREDENTIALS_KEY", "base64 of 32 random bytes, e.g. `openssl rand -base64 32`; it encrypts agencies' API keys");
        try { _ = new CredentialCipher(credentialsKey); }
        catch (ArgumentException ex) { throw new SettingsException("CREDENTIALS_KEY", ex.Message); }
        var port = ReadPort(config);
        var telephony = ReadTelephonyMode(config, environmentName);
        var simulator = telephony.Simulated ? ReadSimulator(config, credentialsKey, port) : null;
        if (simulator is not null)
        {
            ultravox.BaseUrl = simulator.UltravoxBaseUrl;
            campaigns.WebhookSecrets = [simulator.UltravoxWebhookSecret];
            // Simulated calls live in this process's memory: after a restart the calls it had are
            // unknown, and reconciliation ends them; sooner than in live mode, as none lasts long.
            campaigns.ReconcileAfter = TimeSpan.FromMinutes(2);
        }
        else
        {
            if (Url(config, "ULTRAVOX_BASE_URL") is { } baseUrl) ultravox.BaseUrl = baseUrl;
            campaigns.WebhookSecrets = (config["ULTRAVOX_WEBHOOK_SECRETS"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        if (Seconds(config, "ULTRAVOX_TIMEOUT_SECONDS") is { } timeout) ultravox.RequestTimeout = timeout;
        if (Cron(config, "CAMPAIGN_TICK_CRON") is { } tick) campaigns.TickCron = tick;
        if (Cron(config, "RECONCILE_CALLS_CRON") is { } reconcileCron) campaigns.ReconcileCron = reconcileCron;
        if (Int(config, "MAX_BATCHES_PER_RUN") is { } max) campaigns.MaxBatchesPerRun = max;
        if (Int(config, "CAMPAIGN_WORKERS") is { } workers) campaigns.Workers = workers;
        if (Seconds(config, "UNKNOWN_CALL_GRACE_SECONDS") is { } grace) campaigns.UnknownCallGrace = grace;
        if (Seconds(config, "UNKNOWN_CALL_RECHECK_SECONDS") is { } recheck) campaigns.UnknownCallRecheck = recheck;
        if (Seconds(config, "RECONCILE_CALLS_AFTER_SECONDS") is { } reconcile) campaigns.ReconcileAfter = reconcile;
        var (onboarding, twilio) = simulator is not null ? SimulatedOnboarding(config, credentialsKey, simulator) : ReadOnboarding(config);
        var demoData = Bool(config, "DEMO_DATA", false);
        if (demoData && !telephony.Simulated)
            throw new SettingsException("DEMO_DATA", "is true but telephony is live: the demo dials made-up numbers, so it runs only with TELEPHONY_MODE=simulated");
        var apiKeys = (config["API_KEYS"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var hangfire = new HangfireSettings
        {
            CampaignWorkers = campaigns.Workers,
            OnboardingWorkers = onboarding?.Workers ?? 1,
            QueuePollInterval = Seconds(config, "HANGFIRE_QUEUE_POLL_SECONDS") ?? new HangfireSettings().QueuePollInterval,
            CampaignQueuePollInterval = Seconds(config, "HANGFIRE_CAMPAIGN_QUEUE_POLL_SECONDS") ?? new HangfireSettings().CampaignQueuePollInterval,
            SchedulePollingInterval = Seconds(config, "HANGFIRE_SCHEDULE_POLL_SECONDS") ?? new HangfireSettings().SchedulePollingInterval,
            InvisibilityTimeout = Seconds(config, "HANGFIRE_INVISIBILITY_TIMEOUT_SECONDS") ?? new HangfireSettings().InvisibilityTimeout,
            CampaignInvisibilityTimeout = Seconds(config, "HANGFIRE_CAMPAIGN_INVISIBILITY_TIMEOUT_SECONDS") ?? new HangfireSettings().CampaignInvisibilityTimeout,
            MainConnections = Int(config, "HANGFIRE_MAIN_CONNECTIONS") ?? new HangfireSettings().MainConnections,
            CampaignConnections = Int(config, "HANGFIRE_CAMPAIGN_CONNECTIONS") ?? new HangfireSettings().CampaignConnections,
        };
        return new ServiceSettings(databaseUrl, credentialsKey, campaigns, ultravox, onboarding, twilio, apiKeys, telephony, simulator, demoData, port,
            hangfire, Retired.Where(name => !string.IsNullOrEmpty(config[name])).ToList(), ReadCallingRules(config, telephony));
    }

    /// <summary>Simulated telephony calls nobody: its demo dials at any hour unless CALLING_HOURS says otherwise.</summary>
    private const string SimulatedCallingHours = "daily 00:00-24:00";

    private static CallingRulesOptions ReadCallingRules(IConfiguration config, TelephonyMode telephony)
    {
        var rules = new CallingRulesOptions { OnboardingKeepsHours = Bool(config, "ONBOARDING_CALLING_HOURS", true) };
        var text = config["CALLING_HOURS"] is { Length: > 0 } given ? given : telephony.Simulated ? SimulatedCallingHours : null;
        if (text is not null)
        {
            if (!CallingHours.TryParse(text, out var hours, out var error)) throw new SettingsException("CALLING_HOURS", error);
            rules.DefaultHours = hours;
        }
        if (Seconds(config, "STOP_SETTLE_SECONDS") is { } settle) rules.StopSettleTimeout = settle;
        return rules;
    }

    /// <summary>
    /// TELEPHONY_MODE=live or simulated; unset, the service simulates only when no provider setting
    /// is given at all and the environment is not Production, and refuses to guess in Production.
    /// </summary>
    private static TelephonyMode ReadTelephonyMode(IConfiguration config, string environmentName)
    {
        var configured = LiveTelephonySettings.Where(name => config[name] is { Length: > 0 }).ToList();
        switch (config["TELEPHONY_MODE"]?.Trim().ToLowerInvariant())
        {
            case "simulated":
                return new TelephonyMode(true, configured.Count == 0
                    ? "TELEPHONY_MODE=simulated"
                    : $"TELEPHONY_MODE=simulated; {string.Join(", ", configured)} ignored");
            case "live":
                if (configured.Count == 0)
                    throw new SettingsException("TELEPHONY_MODE", "is live but no provider is configured: set ULTRAVOX_WEBHOOK_SECRETS (campaigns) and/or TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER (onboarding)");
                return new TelephonyMode(false, "TELEPHONY_MODE=live");
            case null or "":
                if (configured.Count > 0) return new TelephonyMode(false, $"{string.Join(", ", configured)} set");
                if (string.Equals(environmentName, "Production", StringComparison.OrdinalIgnoreCase))
                    throw new SettingsException("TELEPHONY_MODE", "is not set and no provider is configured: set ULTRAVOX_WEBHOOK_SECRETS and/or TWILIO_* for live calls, or TELEPHONY_MODE=simulated for the built-in simulator");
                return new TelephonyMode(true, $"no provider configured ({environmentName} environment)");
            case var other:
                throw new SettingsException("TELEPHONY_MODE", $"'{other}' is not live or simulated");
        }
    }

    private static SimulatorOptions ReadSimulator(IConfiguration config, string credentialsKey, int? port)
    {
        var localPort = LocalPort(config, port);
        var localUrl = $"http://127.0.0.1:{localPort}";
        return new SimulatorOptions
        {
            LocalUrl = localUrl,
            PublicUrl = PublicUrl(config) ?? localUrl,
            UltravoxWebhookSecret = SimulatedSecret(credentialsKey, "ultravox-webhook"),
            AnswerAfter = Range(config, "SIMULATOR_ANSWER_SECONDS") ?? new SecondsRange(1, 5),
            CallLasts = Range(config, "SIMULATOR_CALL_SECONDS") ?? new SecondsRange(5, 40),
            NoAnswerPercent = Percent(config, "SIMULATOR_NO_ANSWER_PERCENT") ?? 15,
            FailurePercent = Percent(config, "SIMULATOR_FAILURE_PERCENT") ?? 5,
            RateLimitPercent = Percent(config, "SIMULATOR_RATE_LIMIT_PERCENT") ?? 2,
        } is var options && options.NoAnswerPercent + options.FailurePercent > 100
            ? throw new SettingsException("SIMULATOR_FAILURE_PERCENT", "and SIMULATOR_NO_ANSWER_PERCENT add up to more than 100")
            : options;
    }

    /// <summary>Onboarding against simulated Twilio: made-up account and token (derived, so every instance agrees), Twilio's test caller number.</summary>
    private static (OnboardingOptions, TwilioOptions) SimulatedOnboarding(IConfiguration config, string credentialsKey, SimulatorOptions simulator)
    {
        var twilio = new TwilioOptions
        {
            BaseUrl = simulator.TwilioBaseUrl,
            AccountSid = "AC" + SimulatedSecret(credentialsKey, "twilio-account")[..32],
            AuthToken = SimulatedSecret(credentialsKey, "twilio-auth-token")[..32],
            FromNumber = "+15005550006",
        };
        if (Seconds(config, "TWILIO_TIMEOUT_SECONDS") is { } timeout) twilio.RequestTimeout = timeout;
        return (ReadOnboardingOptions(config, simulator.PublicUrl), twilio);
    }

    // Lowercase hex of HMAC-SHA256(CREDENTIALS_KEY, purpose): secret, and the same on every instance.
    private static string SimulatedSecret(string credentialsKey, string purpose) =>
        Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            Convert.FromBase64String(credentialsKey), System.Text.Encoding.UTF8.GetBytes("dispatcher-simulator:" + purpose)));

    /// <summary>API_BASE_URL, else the URL Render gives the service [RENDER_EXTERNAL_URL].</summary>
    private static string? PublicUrl(IConfiguration config) => Url(config, "API_BASE_URL") ?? Url(config, "RENDER_EXTERNAL_URL");

    // The port this process listens on, as Kestrel will pick it: ASPNETCORE_URLS, then PORT, then ASPNETCORE_HTTP_PORTS, then 5000.
    private static int LocalPort(IConfiguration config, int? port)
    {
        if (config["urls"] is { Length: > 0 } urls)
        {
            var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
            var hostAndPort = first?["http://".Length..].Split('/')[0];
            var colon = hostAndPort?.LastIndexOf(':') ?? -1;
            if (colon < 0 || !int.TryParse(hostAndPort![(colon + 1)..], out var fromUrls) || fromUrls <= 0)
                throw new SettingsException("ASPNETCORE_URLS", $"'{urls}' has no http URL with a fixed port, which the simulator needs to reach this service");
            return fromUrls;
        }
        if (port is { } p) return p;
        if (config["http_ports"] is { Length: > 0 } ports)
            return int.TryParse(ports.Split(';', ',')[0], out var fromPorts) && fromPorts > 0
                ? fromPorts : throw new SettingsException("ASPNETCORE_HTTP_PORTS", $"'{ports}' is not a port");
        return 5000;
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
        var publicUrl = PublicUrl(config) ?? throw new SettingsException("API_BASE_URL", "is not set: give this service's public URL, which Twilio calls back");
        var onboarding = ReadOnboardingOptions(config, publicUrl);
        onboarding.AbandonedClaimAfter = OnboardingOptions.ClaimHeldAtMost(twilio.RequestTimeout);
        return (onboarding, twilio);
    }

    private static OnboardingOptions ReadOnboardingOptions(IConfiguration config, string publicUrl)
    {
        var onboarding = new OnboardingOptions { ApiBaseUrl = publicUrl };
        if (Int(config, "CALL_DISPATCHER_LIMIT") is { } limit) onboarding.DispatchLimit = limit;
        if (Cron(config, "ONBOARDING_DISPATCH_CRON") is { } dispatchCron) onboarding.DispatchCron = dispatchCron;
        if (Int(config, "ONBOARDING_WORKERS") is { } workers) onboarding.Workers = workers;
        if (Seconds(config, "ONBOARDING_RETRY_BASE_SECONDS") is { } retry) onboarding.RetryBase = retry;
        if (Seconds(config, "RECONCILE_CALLS_AFTER_SECONDS") is { } reconcile) onboarding.ReconcileAfter = reconcile;
        if (Seconds(config, "UNKNOWN_CALL_GRACE_SECONDS") is { } grace) onboarding.UnknownCallGrace = grace;
        if (config["ONBOARDING_VOICE"] is { Length: > 0 } voice) onboarding.Voice = voice;
        if (Url(config, "VOICE_AGENT_STREAM_URL", "ws", "wss") is { } stream) onboarding.VoiceAgentStreamUrl = stream;
        // Twilio takes only these values; anything else would fail every call at Twilio instead of here.
        if (config["TWILIO_MACHINE_DETECTION"] is { Length: > 0 } amd)
            onboarding.MachineDetection = amd is "Enable" or "DetectMessageEnd" ? amd
                : throw new SettingsException("TWILIO_MACHINE_DETECTION", $"'{amd}' is not Enable or DetectMessageEnd");
        if (Int(config, "TWILIO_RING_TIMEOUT_SECONDS") is { } ring)
            onboarding.RingTimeoutSeconds = ring <= 600 ? ring : throw new SettingsException("TWILIO_RING_TIMEOUT_SECONDS", $"'{ring}' is not from 1 to 600 seconds");
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
        return onboarding;
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
        var raw => CronIsValid(raw, out var error) ? raw : throw new SettingsException(name, error),
    };

    // Hangfire parses cron with Cronos: 5 fields, or 6 with seconds first.
    private static bool CronIsValid(string raw, out string error)
    {
        try
        {
            Cronos.CronExpression.Parse(raw, raw.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? Cronos.CronFormat.IncludeSeconds : Cronos.CronFormat.Standard);
            error = "";
            return true;
        }
        catch (Cronos.CronFormatException ex)
        {
            error = $"'{raw}' is not a cron expression of 5 fields (or 6, seconds first): {ex.Message}";
            return false;
        }
    }

    private static bool Bool(IConfiguration config, string name, bool byDefault) => config[name] switch
    {
        null or "" => byDefault,
        var raw when bool.TryParse(raw, out var value) => value,
        var raw => throw new SettingsException(name, $"'{raw}' is not true or false"),
    };

    private static int? ReadPort(IConfiguration config) => config["PORT"] switch
    {
        null or "" => null,
        var raw when int.TryParse(raw, out var value) && value is > 0 and < 65536 => value,
        var raw => throw new SettingsException("PORT", $"'{raw}' is not a TCP port (1-65535)"),
    };

    private static int? Percent(IConfiguration config, string name) => config[name] switch
    {
        null or "" => null,
        var raw when int.TryParse(raw, out var value) && value is >= 0 and <= 100 => value,
        var raw => throw new SettingsException(name, $"'{raw}' is not a percentage (0-100)"),
    };

    // "min-max" or a single number of seconds, e.g. "5-40" or "2".
    private static SecondsRange? Range(IConfiguration config, string name)
    {
        if (config[name] is not { Length: > 0 } raw) return null;
        var parts = raw.Split('-', 2, StringSplitOptions.TrimEntries);
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        if (double.TryParse(parts[0], culture, out var min) && double.TryParse(parts[^1], culture, out var max) && min >= 0 && max >= min)
            return new SecondsRange(min, max);
        throw new SettingsException(name, $"'{raw}' is not seconds as min-max, e.g. 5-40");
    }

    private static TimeSpan? Seconds(IConfiguration config, string name) => Int(config, name) is { } s ? TimeSpan.FromSeconds(s) : null;
}

public sealed class SettingsException(string variable, string problem) : Exception($"{variable} {problem}")
{
    public string Variable { get; } = variable;
}
