using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding;
using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// GET /dispatcher/live?batch=1,2&amp;onboarding=true: the values our pages mark with data-live and
/// data-bar, for dispatcher.js to refresh without a reload. A few cheap reads: batch counters are
/// kept in the batch rows, onboarding counts are capped walks of an index.
/// </summary>
public sealed class LiveCounts : IDashboardDispatcher
{
    public const string Route = "/dispatcher/live";
    private const int MaxBatches = 100;

    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var services = http.RequestServices;
        var ct = http.RequestAborted;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var live = new Dictionary<string, string>();
        var ids = http.Request.Query["batch"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries).Take(MaxBatches)
            .Select(s => long.TryParse(s, out var id) ? id : 0).Where(id => id > 0).Distinct().ToList();
        var queries = services.GetRequiredService<BatchQueries>();
        foreach (var batch in await queries.WithWindowWaitsAsync(await queries.GetManyAsync(ids, ct), now, ct)) BatchProgress.Of(batch, now).AddLive(live);
        if (http.Request.Query["onboarding"] == "true" && services.GetService<OnboardingCalls>() is { } calls)
            foreach (var (status, count) in await calls.CountsAsync(ct)) live[$"onboarding.{status}"] = OnboardingPage.OnboardingCount(count);
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        await http.Response.WriteAsync(JsonSerializer.Serialize(live), ct);
    }
}
