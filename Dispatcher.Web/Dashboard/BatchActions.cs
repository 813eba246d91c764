using Dispatcher.Jobs.Campaigns;
using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// POST /batches/{id}/(pause|resume|cancel|retry-failed), and /batches/{id}/contacts/{contact}/requeue
/// for one failed contact. Hangfire's middleware has already checked the antiforgery token;
/// read-only users get 401 as from Hangfire's own commands. Answers 303 back to the batch's page,
/// so a reload never repeats the action. Requeues are recorded under the signed-in user.
/// </summary>
public sealed class BatchActions : IDashboardDispatcher
{
    public const string Route = "/batches/(?<id>\\d{1,18})/(?:(?<action>pause|resume|cancel|retry-failed)|contacts/(?<contact>\\d{1,18})/(?<action>requeue))";

    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (context.IsReadOnly)
        {
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        var id = long.Parse(context.UriMatch.Groups["id"].Value);
        var action = context.UriMatch.Groups["action"].Value;
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            if (action == "cancel")
                http.Response.Redirect(new UrlHelper(context).To($"/batches/{id}/cancel/confirm"));
            else
                http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        var batches = http.RequestServices.GetRequiredService<Batches>();
        var user = DashboardUser.Of(http)?.Name ?? "dashboard";
        var ct = http.RequestAborted;
        var outcome = action switch
        {
            "pause" => await batches.PauseAsync(id, ct) ? "paused" : "not-running",
            "resume" => await batches.ResumeAsync(id, ct) ? "resumed" : "not-paused",
            "cancel" when (await http.Request.ReadFormAsync(ct))["confirm"] != "yes" => null,
            "cancel" => await batches.CancelAsync(id, ct) ? "cancelled" : "not-cancellable",
            "requeue" => await http.RequestServices.GetRequiredService<FailedCalls>()
                .RequeueContactAsync(id, long.Parse(context.UriMatch.Groups["contact"].Value), user, ct) ? "requeued" : "not-failed",
            _ => $"retried&count={await batches.RetryFailedAsync(id, user, ct)}",
        };
        http.Response.StatusCode = StatusCodes.Status303SeeOther;
        http.Response.Headers.Location = new UrlHelper(context).To(outcome is null ? $"/batches/{id}/cancel/confirm" : $"/batches/{id}?done={outcome}");
    }
}
