using System.Text;
using Dispatcher.Jobs.Onboarding;

namespace Dispatcher.Web.Dashboard;

/// <summary>/onboarding: onboarding calls by status with their attempts, last Twilio status and error, and their Hangfire jobs; paged by id.</summary>
public sealed class OnboardingPage() : OperatorPage("Onboarding calls")
{
    private const int PageSize = 40;

    protected override void Body()
    {
        var html = new StringBuilder("""<div class="row"><div class="col-md-12"><h1 id="page-title" class="page-header">Onboarding calls</h1>""");
        if (Http.RequestServices.GetService<OnboardingCalls>() is not { } calls)
        {
            Raw(html.Append("""<div class="alert alert-info">Onboarding calls are off: TWILIO_ACCOUNT_SID is not set.</div></div></div>""").ToString());
            return;
        }
        var status = Query("status") is { } s && OnboardingCalls.Statuses.Contains(s) ? s : null;
        var before = QueryLong("before");
        var counts = Read(calls.CountsAsync);
        var page = Read(ct => calls.ListAsync(status, before, PageSize, ct));
        var jobs = Read(ct => Service<OnboardingJobIds>().ForRowsAsync(page.Calls.Select(c => c.Id).ToList(), ct));

        html.Append("""<ul class="nav nav-tabs dispatcher-tabs" data-onboarding>""");
        html.Append($"""<li class="{(status is null ? "active" : "")}"><a href="{Encode(Url.To("/onboarding"))}">All</a></li>""");
        foreach (var (name, count) in counts)
            html.Append($"""<li class="{(status == name ? "active" : "")}"><a href="{Encode(Url.To($"/onboarding?status={name}"))}">{Encode(name.Replace('_', ' '))} <span class="badge">{Live($"onboarding.{name}", OnboardingCount(count))}</span></a></li>""");
        html.Append("</ul>");
        if (page.Calls.Count == 0) html.Append("""<div class="alert alert-info">No onboarding calls here.</div>""");
        else
        {
            html.Append("""<div class="table-responsive"><table class="table table-hover dispatcher-onboarding" aria-describedby="page-title"><thead><tr>""");
            html.Append("""<th class="min-width">Call</th><th>User</th><th>Phone</th><th class="min-width">Status</th><th class="min-width">Attempts</th><th>Last Twilio status</th><th>Last error</th><th class="min-width">Created</th><th class="min-width">Hangfire</th></tr></thead><tbody>""");
            foreach (var call in page.Calls)
            {
                html.Append($"""<tr id="onboarding-{call.Id}"><td>{call.Id}</td><td>{Encode(call.UserId)}</td><td class="text-nowrap">{Encode(Redaction.Phone(call.PhoneNumber))}</td>""");
                html.Append($"<td>{StatusLabel(call.Status)}{Requeued(call.RequeuedAt, call.RequeuedBy)}</td><td>{call.Attempts} of {call.MaxAttempts}</td><td>{Encode(call.LastCallStatus)}</td>");
                html.Append($"""<td>{Encode(Redaction.Text(call.LastError))}</td><td class="text-nowrap">{Encode(Ago(Now, call.CreatedAt))}</td><td>{JobLink(jobs.GetValueOrDefault(call.Id), "job")}</td></tr>""");
            }
            html.Append("</tbody></table></div>");
        }
        if (page.NextBeforeId is { } next)
            html.Append($"""<a class="btn btn-sm btn-default" rel="next" href="{Encode(Url.To($"/onboarding?{(status is null ? "" : $"status={status}&")}before={next}"))}">Older calls</a>""");
        Raw(html.Append("</div></div>").ToString());
    }

    /// <summary>Counts stop at OnboardingCalls.CountCap: "10,000+".</summary>
    public static string OnboardingCount(long count) => count > OnboardingCalls.CountCap ? $"{OnboardingCalls.CountCap:N0}+" : count.ToString("N0");
}
