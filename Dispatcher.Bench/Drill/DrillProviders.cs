extern alias web;

using web::Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Bench.Drill;

/// <summary>
/// Ultravox and Twilio played by this process, which is never killed: its record of every call by
/// number is the drill's witness. Besides answering, it misbehaves as the issue asks: 5xx answers,
/// hangs past the service's timeout, 429 with Retry-After, webhooks lost or delivered twice.
/// </summary>
public sealed class DrillProviders : IAsyncDisposable
{
    /// <summary>The service gives up on a provider after this (ULTRAVOX_ / TWILIO_TIMEOUT_SECONDS); a hang lasts longer.</summary>
    public const int ProviderTimeoutSeconds = 2;

    public const string TwilioNumber = "+15005550006";

    private static readonly TimeSpan HangFor = TimeSpan.FromSeconds(ProviderTimeoutSeconds + 1.5);

    private DrillProviders(UltravoxEmulation ultravox, TwilioEmulation twilio)
    {
        Ultravox = ultravox;
        Twilio = twilio;
    }

    public UltravoxEmulation Ultravox { get; }

    public TwilioEmulation Twilio { get; }

    /// <summary>While false (the bad-input phase), everything answers and arrives once, so nothing but the bad input moves.</summary>
    public bool Misbehaving { get; set; } = true;

    public static async Task<DrillProviders> StartAsync()
    {
        var ultravox = await UltravoxEmulation.StartAsync();
        var twilio = await TwilioEmulation.StartAsync();
        var providers = new DrillProviders(ultravox, twilio);

        ultravox.OnCreate = _ => providers.Answer();
        ultravox.AnswerAfter = _ => TimeSpan.FromMilliseconds(Random.Shared.Next(100, 500));
        ultravox.CallDuration = _ => TimeSpan.FromMilliseconds(Random.Shared.Next(500, 2_000));
        ultravox.EndReason = _ => Random.Shared.Next(100) switch { < 80 => "hangup", < 92 => "unjoined", _ => "connection_error" };
        ultravox.WebhookAttempts = 3; // as Ultravox retries a webhook that got no 2xx (an instance killed mid-request)
        ultravox.WebhookRetryPause = TimeSpan.FromSeconds(1);
        ultravox.WebhookCopies = providers.Copies;

        twilio.OnCreate = _ => providers.Answer();
        twilio.CallDuration = _ => TimeSpan.FromMilliseconds(Random.Shared.Next(500, 2_000));
        twilio.CallbackCopies = providers.Copies;
        return providers;
    }

    // 3 % each: a 5xx, a hang past the timeout (half of them placing the call anyway), a 429 with Retry-After.
    private EmulatedAnswer Answer()
    {
        if (!Misbehaving) return new EmulatedAnswer.Create();
        return Random.Shared.Next(100) switch
        {
            < 3 => new EmulatedAnswer.ServerError(Random.Shared.Next(2) == 0 ? 500 : 502),
            < 6 => new EmulatedAnswer.Hang(HangFor, CreateCall: Random.Shared.Next(2) == 0),
            < 9 => new EmulatedAnswer.RateLimit(429, "1"),
            _ => new EmulatedAnswer.Create(),
        };
    }

    // 10 % lost, 10 % delivered twice.
    private int Copies()
    {
        if (!Misbehaving) return 1;
        return Random.Shared.Next(10) switch { 0 => 0, 1 => 2, _ => 1 };
    }

    public async ValueTask DisposeAsync()
    {
        await Ultravox.DisposeAsync();
        await Twilio.DisposeAsync();
    }
}
