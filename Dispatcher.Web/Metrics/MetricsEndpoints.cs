using Prometheus;

namespace Dispatcher.Web.Metrics;

public static class MetricsEndpoints
{
    public static IServiceCollection AddMetricsExport(this IServiceCollection services)
    {
        services.AddSingleton<PrometheusMetrics>();
        services.AddSingleton<JobStateGauge>();
        return services;
    }

    /// <summary>
    /// GET /metrics through prometheus-net, in Prometheus text format: jobs by state, job durations,
    /// dials, webhooks, provider errors, and prometheus-net's process and .NET metrics.
    /// </summary>
    public static IEndpointRouteBuilder MapMetricsExport(this IEndpointRouteBuilder routes)
    {
        // Created now, so the meter adapter listens from the start and nothing measured before the first scrape is lost.
        var metrics = routes.ServiceProvider.GetRequiredService<PrometheusMetrics>();
        routes.ServiceProvider.GetRequiredService<JobStateGauge>();
        routes.MapMetrics("/metrics", metrics.Registry);
        return routes;
    }
}
