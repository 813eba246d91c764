using Dispatcher.Queue;
using Npgsql;

namespace Dispatcher.Web.Health;

public static class HealthEndpoints
{
    /// <summary>/healthz: the process is alive (and says whether telephony is live or simulated). /readyz: the database answers and the engine runs.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", (Dispatcher.Web.Configuration.TelephonyMode telephony) => Results.Text($"ok\ntelephony: {telephony.Name}\n"));
        routes.MapGet("/readyz", async (NpgsqlDataSource dataSource, QueueHost engine, CancellationToken ct) =>
        {
            if (!engine.IsRunning) return Results.Problem("the job engine is not running", statusCode: 503);
            try
            {
                await using var ping = dataSource.CreateCommand("SELECT 1");
                await ping.ExecuteScalarAsync(ct);
                return Results.Text("ready");
            }
            catch (NpgsqlException ex)
            {
                return Results.Problem($"the database is unreachable: {ex.Message}", statusCode: 503);
            }
        });
        return routes;
    }
}
