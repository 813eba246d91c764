namespace Dispatcher.Web.Simulation;

/// <summary>A range of seconds a simulated call step takes, drawn uniformly.</summary>
public readonly record struct SecondsRange(double Min, double Max)
{
    public TimeSpan Draw(Random random) => TimeSpan.FromSeconds(Min + random.NextDouble() * (Max - Min));

    public override string ToString() => $"{Min:0.###}-{Max:0.###} s";
}

/// <summary>
/// How the built-in telephony simulator behaves (SIMULATOR_* variables), and where it lives.
/// Shares are percentages of calls; whatever is left of 100 is answered and ends normally.
/// </summary>
public sealed record SimulatorOptions
{
    /// <summary>This process's own address, where the service's provider clients reach the simulator (never through a load balancer: the simulator's calls live in this process).</summary>
    public string LocalUrl { get; init; } = "";

    /// <summary>The service's public URL [API_BASE_URL]: webhooks and status callbacks go there, as the real providers' would.</summary>
    public string PublicUrl { get; init; } = "";

    /// <summary>The secret simulated Ultravox signs webhooks with (derived from CREDENTIALS_KEY, so every instance agrees).</summary>
    public string UltravoxWebhookSecret { get; init; } = "";

    /// <summary>Ringing until the callee picks up [SIMULATOR_ANSWER_SECONDS].</summary>
    public SecondsRange AnswerAfter { get; init; } = new(1, 5);

    /// <summary>How long an answered call lasts [SIMULATOR_CALL_SECONDS].</summary>
    public SecondsRange CallLasts { get; init; } = new(5, 40);

    /// <summary>
    /// A number nobody ever answers (busy at Twilio, unjoined at Ultravox), outside the demo's other
    /// numbers: the demo calls it so that a new user finds failed calls to requeue within minutes.
    /// </summary>
    public const string NobodyAnswers = "+12065550100";

    /// <summary>Calls nobody answers: Ultravox ends them as unjoined, Twilio as no-answer (or busy) [SIMULATOR_NO_ANSWER_PERCENT].</summary>
    public int NoAnswerPercent { get; init; } = 15;

    /// <summary>Calls that fail on the network: connection_error at Ultravox, failed at Twilio [SIMULATOR_FAILURE_PERCENT].</summary>
    public int FailurePercent { get; init; } = 5;

    /// <summary>Call creations refused with 429 and a Retry-After [SIMULATOR_RATE_LIMIT_PERCENT].</summary>
    public int RateLimitPercent { get; init; } = 2;

    /// <summary>The Retry-After a 429 carries.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Where this service serves its provider emulations.</summary>
    public const string UltravoxPrefix = "/simulator/ultravox";
    public const string TwilioPrefix = "/simulator/twilio";

    public string UltravoxBaseUrl => LocalUrl + UltravoxPrefix;
    public string TwilioBaseUrl => LocalUrl + TwilioPrefix;
}
