using System.Net.Http.Headers;

namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// What the HTTP layer saw of the SDK's requests within one of our calls. The SDK's exceptions carry
/// no headers and no reliable status, so <see cref="TwilioHttpHandler"/> records the answer here; it
/// flows to the handler through an AsyncLocal, so concurrent calls each see their own.
/// </summary>
internal sealed class TwilioExchange
{
    private static readonly AsyncLocal<TwilioExchange?> Active = new();

    private TwilioExchange(CancellationToken callerToken) => CallerToken = callerToken;

    /// <summary>The caller's cancellation, which the SDK's async methods do not take.</summary>
    public CancellationToken CallerToken { get; }

    /// <summary>Requests sent so far (answered or not).</summary>
    public int Requests { get; private set; }

    /// <summary>The last answer's status code; null while no answer came.</summary>
    public int? Status { get; private set; }
    public string Body { get; private set; } = "";
    public RetryConditionHeaderValue? RetryAfter { get; private set; }

    /// <summary>The request ran past the deadline without an answer.</summary>
    public bool TimedOut { get; set; }

    /// <summary>Starts recording for the rest of the calling async method.</summary>
    public static TwilioExchange Begin(CancellationToken callerToken) => Active.Value = new TwilioExchange(callerToken);

    public static TwilioExchange? Current => Active.Value;

    public void Sending() => Requests++;

    public void Answered(HttpResponseMessage response, string body)
    {
        Status = (int)response.StatusCode;
        RetryAfter = response.Headers.RetryAfter;
        Body = body;
    }
}
