using Dispatcher.Web.Configuration;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire;
using Dispatcher.Jobs.Schema;
using Npgsql;

namespace Dispatcher.Web.Health;

public static class HealthEndpoints
{
    /// <summary>
    /// /healthz: the process is alive (and says whether telephony is live or simulated). /readyz:
    /// this instance's Hangfire servers run, the database answers and has every domain script this
    /// code knows applied; otherwise 503 problem naming what is missing.
    /// </summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", (TelephonyMode telephony) => Results.Text($"ok\ntelephony: {telephony.Name}\n"))
            .ExcludeFromDescription();
        routes.MapGet("/readyz", async (DomainSchema schema, JobStorage hangfire, HangfireSettings hangfireSettings, CancellationToken ct) =>
        {
            try
            {
                if (HangfireServersMissing(hangfire, hangfireSettings) is { Count: > 0 } missing)
                    return NotReady($"Hangfire servers not running: {string.Join(", ", missing)}");
                var pending = await schema.PendingAsync(ct);
                if (pending.Count > 0) return NotReady($"migrations not applied: {string.Join(", ", pending)}");
                return Results.Text("ready");
            }
            catch (NpgsqlException ex)
            {
                return NotReady($"the database is unreachable: {ex.Message}");
            }
        }).ExcludeFromDescription();
        return routes;
    }

    /// <summary>This instance's Hangfire servers that have not announced themselves (or stopped heartbeating).</summary>
    private static List<string> HangfireServersMissing(JobStorage storage, HangfireSettings settings)
    {
        var running = storage.GetMonitoringApi().Servers().Select(s => s.Name).ToList();
        return HangfireSetup.ServerNames(settings).Where(name => !running.Any(r => r.StartsWith(name + ":", StringComparison.Ordinal))).ToList();
    }

    private static IResult NotReady(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready");
}
