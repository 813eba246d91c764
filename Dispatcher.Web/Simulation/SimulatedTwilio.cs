using System.Runtime.CompilerServices;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Web.Simulation;

/// <summary>
/// Twilio as simulated mode plays it: the emulation with random knobs drawn from the SIMULATOR_*
/// settings (busy, no-answer, failed or answered calls whose TwiML is fetched; now and then a 429),
/// on the simulated account the service's own TwilioOptions name.
/// </summary>
public static class SimulatedTwilio
{
    private static readonly TimeSpan KeepEndedCalls = TimeSpan.FromHours(1);

    private sealed record Plan(string Outcome, TimeSpan RingFor, TimeSpan Talk);

    public static TwilioEmulation Create(SimulatorOptions options, TwilioOptions account, TimeProvider clock, EmulationActivity activity)
    {
        // One draw per call: its outcome decides how long it rings and talks.
        var plans = new ConditionalWeakTable<TwilioCreateRequest, Plan>();
        Plan PlanOf(TwilioCreateRequest request) => plans.GetValue(request, r => Draw(options, r));
        return new TwilioEmulation(clock, activity)
        {
            BaseUrl = options.TwilioBaseUrl,
            AccountSid = account.AccountSid,
            AuthToken = account.AuthToken,
            ApiKeySid = account.ApiKeySid,
            ApiKeySecret = account.ApiKeySecret,
            FetchTwiml = true,
            RequireE164 = true,
            KeepRecords = false,
            ForgetEndedCallsAfter = KeepEndedCalls,
            OnCreate = _ => Random.Shared.Next(100) < options.RateLimitPercent ? new EmulatedAnswer.RateLimit() : new EmulatedAnswer.Create(),
            CallOutcome = r => PlanOf(r).Outcome,
            RingFor = r => PlanOf(r).RingFor,
            CallDuration = r => PlanOf(r).Talk,
        };
    }

    private static Plan Draw(SimulatorOptions options, TwilioCreateRequest request)
    {
        var dialling = TimeSpan.FromMilliseconds(200 + Random.Shared.Next(300));
        var roll = Random.Shared.Next(100);
        if (request.To == SimulatorOptions.NobodyAnswers)
            return new("busy", dialling, TimeSpan.Zero);
        if (roll < options.NoAnswerPercent)
        {
            var busy = Random.Shared.Next(4) == 0;
            var ringing = options.AnswerAfter.Draw(Random.Shared) + TimeSpan.FromSeconds(busy ? 0 : options.AnswerAfter.Max);
            return new(busy ? "busy" : "no-answer", dialling + ringing, TimeSpan.Zero);
        }
        if (roll < options.NoAnswerPercent + options.FailurePercent)
            return new("failed", dialling + TimeSpan.FromSeconds(0.5 + Random.Shared.NextDouble()), TimeSpan.Zero);
        return new("completed", dialling + options.AnswerAfter.Draw(Random.Shared), options.CallLasts.Draw(Random.Shared));
    }
}
