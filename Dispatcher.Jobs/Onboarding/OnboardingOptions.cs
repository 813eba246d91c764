namespace Dispatcher.Jobs.Onboarding;

/// <summary>Onboarding settings, from environment variables (names in brackets).</summary>
public sealed record OnboardingOptions
{
    /// <summary>Public base URL of this service, as Twilio reaches it [API_BASE_URL]; TwiML and callback URLs and signatures use it.</summary>
    public string ApiBaseUrl { get; set; } = "";

    /// <summary>Most rows one dispatch pass picks up [CALL_DISPATCHER_LIMIT].</summary>
    public int DispatchLimit { get; set; } = 10;

    /// <summary>When onboarding-dispatch runs, the safety net for rows whose job was never enqueued [ONBOARDING_DISPATCH_CRON].</summary>
    public string DispatchCron { get; set; } = "* * * * *";

    /// <summary>
    /// Hangfire workers of the onboarding queue in this instance [ONBOARDING_WORKERS]: each holds a
    /// thread while its call is placed, and idle ones poll the queue.
    /// </summary>
    public int Workers { get; set; } = 10;

    /// <summary>
    /// A row being enqueued is left to whoever took it this long; after that (the process died
    /// between the commit and the enqueue) onboarding-dispatch takes it.
    /// </summary>
    public TimeSpan EnqueueLease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A performance that claimed an attempt this long ago without a call sid died: another
    /// performance of the job takes the attempt over, looking the call up first. A live one holds
    /// its claim for a look-up and a POST at most: see <see cref="ClaimHeldAtMost"/>.
    /// </summary>
    public TimeSpan AbandonedClaimAfter { get; set; } = ClaimHeldAtMost(new Twilio.TwilioOptions().RequestTimeout);

    /// <summary>Two Twilio requests and the statements around them.</summary>
    public static TimeSpan ClaimHeldAtMost(TimeSpan twilioRequestTimeout) => 2 * twilioRequestTimeout + TimeSpan.FromSeconds(10);

    /// <summary>Wait before a new call after busy / no-answer / failed: base * 2^(attempt-1) [ONBOARDING_RETRY_BASE_SECONDS].</summary>
    public TimeSpan RetryBase { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A call dialled, ringing or in progress with no news for this long is looked up at Twilio
    /// [RECONCILE_CALLS_AFTER_SECONDS], in case its final status callback was lost: Twilio sends each once.
    /// </summary>
    public TimeSpan ReconcileAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>An unknown POST outcome whose call cannot be found for this long is dialled again [UNKNOWN_CALL_GRACE_SECONDS].</summary>
    public TimeSpan UnknownCallGrace { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Twilio's MachineDetection ("Enable", "DetectMessageEnd") and ring timeout; unset: Twilio's defaults.</summary>
    public string? MachineDetection { get; set; }
    public int? RingTimeoutSeconds { get; set; }

    /// <summary>Spoken script per signup_mode, with {first_name}-style placeholders from the row's metadata [ONBOARDING_SCRIPTS, JSON].</summary>
    public IReadOnlyDictionary<string, string> Scripts { get; set; } = new Dictionary<string, string>
    {
        ["default"] = "Hi {first_name}, thanks for signing up! We'd love to learn a little about what you need. Do you have two minutes?",
    };

    /// <summary>Twilio voice for the script [ONBOARDING_VOICE].</summary>
    public string Voice { get; set; } = "Polly.Joanna";

    /// <summary>A voice agent to connect the call to after the script, as &lt;Connect&gt;&lt;Stream&gt; [VOICE_AGENT_STREAM_URL].</summary>
    public string? VoiceAgentStreamUrl { get; set; }

    public string TwimlUrl(long jobId) => $"{ApiBaseUrl.TrimEnd('/')}/twiml/onboarding/{jobId}";
    /// <summary>
    /// Carries the row and attempt, so a callback finds its row even when it arrives before the
    /// call's sid was stored (Twilio may call back before its 201 reaches us).
    /// </summary>
    public string StatusCallbackUrl(long jobId, int attempt) => $"{ApiBaseUrl.TrimEnd('/')}/webhooks/twilio/status?job={jobId}&attempt={attempt}";
}
