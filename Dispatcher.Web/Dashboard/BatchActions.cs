using System.Text.RegularExpressions;
using Dispatcher.Jobs.Campaigns;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// POST /batches/{id}/(pause|resume|cancel|retry-failed), and /batches/{id}/contacts/{contact}/requeue
/// for one failed contact; back to the batch's page with what came of it. A cancel without the
/// confirmation page's answer goes to that page. Requeues are recorded under the signed-in user.
/// </summary>
public sealed class BatchActions : OperatorAction
{
    public const string Route = "/batches/(?<id>\\d{1,18})/(?:(?<action>pause|resume|cancel|retry-failed)|contacts/(?<contact>\\d{1,18})/(?<action>requeue))";

    protected override async Task<string> ActAsync(Match route, IFormCollection form, IServiceProvider services, string user, CancellationToken ct)
    {
        var id = long.Parse(route.Groups["id"].Value);
        var batches = services.GetRequiredService<Batches>();
        var outcome = route.Groups["action"].Value switch
        {
            "pause" => await batches.PauseAsync(id, ct) ? "paused" : "not-running",
            "resume" => await batches.ResumeAsync(id, ct) ? "resumed" : "not-paused",
            "cancel" when form["confirm"] != "yes" => null,
            "cancel" => await batches.CancelAsync(id, ct) ? "cancelled" : "not-cancellable",
            "requeue" => await services.GetRequiredService<FailedCalls>()
                .RequeueContactAsync(id, long.Parse(route.Groups["contact"].Value), user, ct) ? "requeued" : "not-failed",
            _ => $"retried&count={await batches.RetryFailedAsync(id, user, ct)}",
        };
        return outcome is null ? $"/batches/{id}/cancel/confirm" : $"/batches/{id}?done={outcome}";
    }
}
