namespace Dispatcher.Web.Metrics;

public static class MetricsEndpoints
{
    public static IServiceCollection AddMetricsExport(this IServiceCollection services)
    {
        services.AddSingleton<PrometheusExporter>();
        services.AddSingleton<JobStateGauge>();
        return services;
    }

    /// <summary>GET /metrics in Prometheus text format: jobs by state, job durations, dials, webhooks, provider errors.</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder routes)
    {
        // Listening from the start, so nothing measured before the first scrape is lost.
        var exporter = routes.ServiceProvider.GetRequiredService<PrometheusExporter>();
        var jobs = routes.ServiceProvider.GetRequiredService<JobStateGauge>();
        routes.MapGet("/metrics", async (CancellationToken ct) =>
        {
            await jobs.RefreshAsync(ct);
            return Results.Text(exporter.Scrape(), PrometheusExporter.ContentType);
        }).ExcludeFromDescription();
        return routes;
    }
}
