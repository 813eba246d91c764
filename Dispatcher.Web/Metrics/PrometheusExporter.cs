using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Dispatcher.Web.Metrics;

/// <summary>
/// Listens to this service's own meters ("Dispatcher.*", made by its <see cref="IMeterFactory"/>,
/// so that several instances in one process never mix) and renders what they measured in Prometheus'
/// text exposition format (0.0.4). Counters are summed, histograms bucketed, observable
/// instruments read at scrape time.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Seconds: from a quick handler to a slow provider call.</summary>
    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();
    private readonly Lock _scrape = new();

    public PrometheusExporter(IMeterFactory meters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Ours only: the framework's meters use dotted label names that Prometheus does not allow.
            if (!ReferenceEquals(instrument.Meter.Scope, meters) || !instrument.Meter.Name.StartsWith("Dispatcher.", StringComparison.Ordinal)) return;
            var family = _families.GetOrAdd(instrument, i => new Family(i));
            listener.EnableMeasurementEvents(instrument, family);
        };
        _listener.MeasurementsCompleted = (instrument, _) => _families.TryRemove(instrument, out Family? _);
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.Start();
    }

    public string Scrape()
    {
        lock (_scrape)
        {
            foreach (var family in _families.Values.Where(f => f.Observable)) family.Reset();
            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var group in _families.Values.GroupBy(f => f.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var first = group.First();
                text.Append("# HELP ").Append(group.Key).Append(' ').Append(Escape(first.Help, quotes: false)).Append('\n');
                text.Append("# TYPE ").Append(group.Key).Append(' ').Append(first.Type).Append('\n');
                foreach (var family in group) family.Write(text);
            }
            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Escape(string value, bool quotes = true)
    {
        var escaped = value.Replace("\\", @"\\").Replace("\n", @"\n");
        return quotes ? escaped.Replace("\"", "\\\"") : escaped;
    }

    /// <summary>One instrument: its series by label set.</summary>
    private sealed class Family(Instrument instrument)
    {
        private readonly ConcurrentDictionary<string, Series> _series = new();

        public string Name { get; } = Sanitized(instrument.Name);
        public string Help { get; } = instrument.Description ?? instrument.Name;
        public bool Observable { get; } = instrument.IsObservable;
        public bool Histogram { get; } = instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal);
        private bool Cumulative { get; } = instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal)
            || instrument.GetType().Name.StartsWith("UpDownCounter", StringComparison.Ordinal) || instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal);

        public string Type => Histogram ? "histogram"
            : instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal) || instrument.GetType().Name.StartsWith("ObservableCounter", StringComparison.Ordinal) ? "counter"
            : "gauge";

        public void Reset() => _series.Clear();

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = _series.GetOrAdd(Labels(tags), _ => new Series(Histogram));
            lock (series)
            {
                if (Histogram)
                {
                    series.Count++;
                    series.Sum += value;
                    for (var i = 0; i < Buckets.Length; i++)
                        if (value <= Buckets[i]) series.Buckets![i]++;
                }
                else if (Cumulative) series.Sum += value;
                else series.Sum = value; // gauges and observable counters report the current value
            }
        }

        public void Write(StringBuilder text)
        {
            foreach (var (labels, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
            lock (series)
            {
                if (!Histogram)
                {
                    text.Append(Name).Append(Braced(labels)).Append(' ').Append(Number(series.Sum)).Append('\n');
                    continue;
                }
                for (var i = 0; i < Buckets.Length; i++)
                    text.Append(Name).Append("_bucket").Append(Braced(Join(labels, $"le=\"{Number(Buckets[i])}\""))).Append(' ').Append(series.Buckets![i]).Append('\n');
                text.Append(Name).Append("_bucket").Append(Braced(Join(labels, "le=\"+Inf\""))).Append(' ').Append(series.Count).Append('\n');
                text.Append(Name).Append("_sum").Append(Braced(labels)).Append(' ').Append(Number(series.Sum)).Append('\n');
                text.Append(Name).Append("_count").Append(Braced(labels)).Append(' ').Append(series.Count).Append('\n');
            }
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0) return "";
            var pairs = new List<string>(tags.Length);
            foreach (var (key, value) in tags) pairs.Add($"{Sanitized(key)}=\"{Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")}\"");
            pairs.Sort(StringComparer.Ordinal);
            return string.Join(',', pairs);
        }

        private static string Sanitized(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_'));

        private static string Join(string labels, string more) => labels.Length == 0 ? more : $"{labels},{more}";
        private static string Braced(string labels) => labels.Length == 0 ? "" : $"{{{labels}}}";
    }

    private sealed class Series(bool histogram)
    {
        public double Sum;
        public long Count;
        public readonly long[]? Buckets = histogram ? new long[PrometheusExporter.Buckets.Length] : null;
    }
}
