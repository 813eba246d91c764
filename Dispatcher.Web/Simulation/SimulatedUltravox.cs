using System.Globalization;
using System.Runtime.CompilerServices;
using Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Web.Simulation;

/// <summary>
/// Ultravox as simulated mode plays it: the emulation with random knobs drawn from the SIMULATOR_*
/// settings (calls that ring, are answered or not, last a while; now and then a 429), webhooks
/// to the service's public /webhooks/ultravox, retried as Ultravox retries them.
/// </summary>
public static class SimulatedUltravox
{
    private const int WebhookAttempts = 6;
    private static readonly TimeSpan KeepEndedCalls = TimeSpan.FromHours(1);
    private static readonly TimeSpan NeverAnswered = TimeSpan.MaxValue;

    private sealed record Plan(TimeSpan AnswerAfter, TimeSpan Lasts, string EndReason);

    public static UltravoxEmulation Create(SimulatorOptions options, TimeProvider clock, EmulationActivity activity)
    {
        // One draw per call: how long it rings, lasts and how it ends belong together.
        var plans = new ConditionalWeakTable<UltravoxCreateRequest, Plan>();
        Plan PlanOf(UltravoxCreateRequest request) => plans.GetValue(request, r => Draw(options, r));
        var retryAfter = ((int)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return new UltravoxEmulation(clock, activity)
        {
            BaseUrl = options.UltravoxBaseUrl,
            WebhookUrl = options.PublicUrl + "/webhooks/ultravox",
            WebhookSecret = options.UltravoxWebhookSecret,
            WebhookAttempts = WebhookAttempts,
            RequireE164 = true,
            KeepRecords = false,
            ForgetEndedCallsAfter = KeepEndedCalls,
            OnCreate = _ => Random.Shared.Next(100) < options.RateLimitPercent
                ? new EmulatedAnswer.RateLimit(429, retryAfter)
                : new EmulatedAnswer.Create(),
            AnswerAfter = r => PlanOf(r).AnswerAfter,
            CallDuration = r => PlanOf(r).Lasts,
            EndReason = r => PlanOf(r).EndReason,
        };
    }

    // Never joined, or lost on the network, or answered and talked.
    private static Plan Draw(SimulatorOptions options, UltravoxCreateRequest request)
    {
        var roll = Random.Shared.Next(100);
        if (roll < options.NoAnswerPercent || request.To == SimulatorOptions.NobodyAnswers)
            return new(NeverAnswered, options.AnswerAfter.Draw(Random.Shared) + TimeSpan.FromSeconds(options.AnswerAfter.Max), "unjoined");
        if (roll < options.NoAnswerPercent + options.FailurePercent)
            return new(NeverAnswered, TimeSpan.FromSeconds(0.5 + Random.Shared.NextDouble() * 2), "connection_error");
        var answerAfter = options.AnswerAfter.Draw(Random.Shared);
        return new(answerAfter, answerAfter + options.CallLasts.Draw(Random.Shared), Random.Shared.Next(10) < 7 ? "hangup" : "agent_hangup");
    }
}
