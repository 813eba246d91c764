using System.Diagnostics.Metrics;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>dispatcher_dials_total{provider, outcome} and webhook results, on meter "Dispatcher.Jobs".</summary>
public sealed class DialMetrics : IDisposable
{
    public const string MeterName = "Dispatcher.Jobs";
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _dials;
    private readonly Counter<long> _webhooks;

    public DialMetrics()
    {
        _dials = _meter.CreateCounter<long>("dispatcher_dials_total", description: "Call creation attempts by provider and outcome");
        _webhooks = _meter.CreateCounter<long>("dispatcher_webhooks_total", description: "Webhook deliveries by provider and result");
    }

    public void Dial(string provider, string outcome) =>
        _dials.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", outcome));

    public void Webhook(string provider, string result) =>
        _webhooks.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("result", result));

    public void Dispose() => _meter.Dispose();
}
