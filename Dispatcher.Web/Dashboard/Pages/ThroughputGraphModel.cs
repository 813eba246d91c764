using Dispatcher.Queue.Monitoring;

namespace Dispatcher.Web.Dashboard.Pages;

public sealed record ThroughputGraphModel(string Range, IReadOnlyList<ThroughputPoint> Points, TimeSpan Bucket);
