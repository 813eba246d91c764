namespace Dispatcher.Bench;

public static class Percentile
{
    /// <summary>The nearest-rank percentile p (0 to 1) of an ascending list; 0 for an empty one.</summary>
    public static double Of(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
