using System.Diagnostics.Metrics;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// Call creation, webhook and provider-error counters of both providers (ultravox, twilio), on
/// meter "Dispatcher": dials_total{provider, outcome}, webhooks_total{provider, result},
/// provider_errors_total{provider, error}. Prometheus names a metric "{meter}_{instrument}"
/// (prometheus-net's meter adapter), so /metrics shows dispatcher_dials_total and so on.
/// </summary>
public sealed class DialMetrics : IDisposable
{
    public const string MeterName = "Dispatcher";
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _dials;
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _providerErrors;

    public DialMetrics(IMeterFactory? meters = null)
    {
        _ownsMeter = meters is null;
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _dials = _meter.CreateCounter<long>("dials_total", description: "Call creation attempts by provider and outcome");
        _webhooks = _meter.CreateCounter<long>("webhooks_total", description: "Webhook deliveries by provider and result");
        _providerErrors = _meter.CreateCounter<long>("provider_errors_total",
            description: "Provider answers that were not a success: rate_limited, rejected, unavailable (5xx, timeouts, lost connections), lookup_failed");
    }

    /// <summary>One call creation attempt; its outcome also counts as a provider error when it was one.</summary>
    public void Dial(string provider, string outcome)
    {
        _dials.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", outcome));
        if (outcome switch { "rate_limited" => "rate_limited", "rejected" => "rejected", "retryable" or "unknown" => "unavailable", _ => null } is { } error)
            ProviderError(provider, error);
    }

    public void ProviderError(string provider, string error) =>
        _providerErrors.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("error", error));

    public void Webhook(string provider, string result) =>
        _webhooks.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("result", result));

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
