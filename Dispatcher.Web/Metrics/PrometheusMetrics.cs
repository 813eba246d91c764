using System.Diagnostics.Metrics;
using Prometheus;

namespace Dispatcher.Web.Metrics;

/// <summary>
/// The prometheus-net registry served at /metrics: prometheus-net's process and .NET metrics, and
/// this instance's own meters (meter "Dispatcher", made by its <see cref="IMeterFactory"/>) through
/// prometheus-net's meter adapter. A registry of its own rather than Metrics.DefaultRegistry, so
/// that several instances in one process (the tests, the benchmarks) never mix their counts; so
/// new instruments belong on a Meter from IMeterFactory, not on prometheus-net's static Metrics.Create*.
/// </summary>
public sealed class PrometheusMetrics : IDisposable
{
    public const string MeterName = "Dispatcher";

    /// <summary>Seconds: from a quick handler to a slow provider call.</summary>
    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly IDisposable _adapter;

    public PrometheusMetrics(IMeterFactory meters)
    {
        DotNetStats.Register(Registry);
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            // Both: in prometheus-net 8.2.1 MetricFactory defaults to the default registry's and then wins over Registry.
            Registry = Registry,
            MetricFactory = Prometheus.Metrics.WithCustomRegistry(Registry),
            // Ours only: the framework's meters are not what this endpoint promises.
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Meter.Name == MeterName,
            ResolveHistogramBuckets = _ => Buckets,
            // The adapter drops a series not updated for this long (5 minutes by default), and its count then
            // restarts from zero. Our label sets are small and bounded: keep them as long as it allows (a day).
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });
    }

    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    public void Dispose() => _adapter.Dispose();
}
