using System.Text;
using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// /batches/{id}: a batch's progress, its calling hours and the contacts waiting for their window,
/// its actions (pause, resume, cancel after asking, retry failed contacts), its Hangfire jobs, and
/// its contacts by status with their calls, paged by id.
/// </summary>
public sealed class BatchPage(long batchId) : OperatorPage($"Batch {batchId}")
{
    private const int PageSize = 50;
    private static readonly string[] Statuses = ["pending", "queued", "dialing", "in_progress", "unknown", "completed", "failed", "cancelled", "suppressed"];

    protected override void Body()
    {
        if (Read(ct => Service<Batches>().GetAsync(batchId, ct)) is not { } batch)
        {
            Http.Response.StatusCode = StatusCodes.Status404NotFound;
            Raw($"""<h1 class="page-header">Batch {batchId}</h1><div class="alert alert-warning">No such batch. <a href="{Encode(Url.To("/batches"))}">All batches</a></div>""");
            return;
        }
        var status = Query("status") is { } s && Statuses.Contains(s) ? s : null;
        var before = QueryLong("before");
        var contacts = Read(ct => Service<BatchQueries>().ContactsAsync(batchId, status, before, PageSize, ct));
        var dialer = Read(ct => Service<BatchQueries>().DialerJobIdAsync(batchId, ct));
        var hours = Read(ct => Service<ContactWindows>().HoursAsync(batchId, ct));
        var progress = BatchProgress.Of(batch, Now);
        var html = new StringBuilder();
        html.Append($"""<div class="row"><div class="col-md-12" data-batch="{batch.Id}">""");
        html.Append($"""<ol class="breadcrumb"><li><a href="{Encode(Url.To("/batches"))}">Batches</a></li><li class="active">{batch.Id}</li></ol>""");
        html.Append($"""<h1 id="page-title" class="page-header">Batch {batch.Id} · {Encode(batch.Name)}</h1>""");
        if (Outcome() is { } outcome) html.Append($"""<div class="alert alert-info" role="status">{Encode(outcome)}</div>""");
        html.Append(Bar(progress));
        html.Append("""<dl class="dl-horizontal dispatcher-facts">""");
        html.Append($"<dt>Status</dt><dd>{Live($"batch.{batch.Id}.status", batch.Status)}{(batch.Stopped ? " · held by stop everything" : "")}</dd>");
        html.Append($"<dt>Done</dt><dd>{Live($"batch.{batch.Id}.done", $"{progress.Done} / {batch.Total}")}</dd>");
        html.Append($"<dt>ETA or start</dt><dd>{Live($"batch.{batch.Id}.eta", progress.Eta)}</dd>");
        html.Append($"<dt>Calling hours</dt><dd>{CallingHoursText(hours, batch)}</dd>");
        html.Append($"""<dt>Waiting for window</dt><dd class="dispatcher-window">{Live($"batch.{batch.Id}.window", progress.WindowWait)}</dd>""");
        html.Append($"<dt>Rate</dt><dd>{batch.CallsPerMinute} calls a minute, at most {batch.MaxConcurrent} at once, {batch.MaxAttempts} attempts a contact</dd>");
        if (batch.StartedAt is { } started) html.Append($"<dt>Started</dt><dd>{Encode(Ago(Now, started))}</dd>");
        if (batch.LastError is { } error) html.Append($"<dt>Last error</dt><dd>{Encode(Redaction.Text(error))}</dd>");
        html.Append($"""<dt>Hangfire jobs</dt><dd>{(dialer is null ? "no dial job" : JobLink(dialer, $"dial job #{dialer}"))} · <a href="{Encode(Url.To("/jobs/failed"))}">failed calls</a></dd>""");
        html.Append("</dl>");
        html.Append(Actions(batch));
        html.Append(StatusTabs(batch, status));
        html.Append(ContactTable(contacts));
        if (contacts.NextBeforeId is { } next)
            html.Append($"""<a class="btn btn-sm btn-default" rel="next" href="{Encode(Url.To($"/batches/{batch.Id}?{(status is null ? "" : $"status={status}&")}before={next}"))}">Older contacts</a>""");
        html.Append("</div></div>");
        Raw(html.ToString());
    }

    private string? Outcome() => Query("done") switch
    {
        "paused" => "Paused: no new dials; live calls finish.",
        "not-running" => "This batch is not running.",
        "resumed" => "Resumed.",
        "not-paused" => "This batch is not paused.",
        "cancelled" => "Cancelled: queued contacts will not be called.",
        "not-cancellable" => "This batch cannot be cancelled.",
        "retried" => $"Queued {QueryLong("count") ?? 0} failed contact(s) again.",
        "requeued" => "Queued the contact again: it is dialled once more.",
        "not-failed" => "That contact is not waiting for a requeue (already queued again, or its failed job is not made yet).",
        _ => null,
    };

    private string Actions(BatchSummary batch)
    {
        if (IsReadOnly) return "";
        var html = new StringBuilder("""<div class="btn-toolbar dispatcher-actions">""");
        if (batch.Status is "pending" or "scheduled" or "processing") html.Append(Form($"/batches/{batch.Id}/pause", "Pause"));
        if (batch.Status == "paused") html.Append(Form($"/batches/{batch.Id}/resume", "Resume", "btn-primary"));
        if (batch.Failed > 0 && batch.Status != "cancelled") html.Append(Form($"/batches/{batch.Id}/retry-failed", $"Retry {batch.Failed} failed contact(s)", "btn-primary"));
        if (batch.Status is not ("completed" or "cancelled" or "failed"))
            html.Append($"""<a class="btn btn-sm btn-danger" href="{Encode(Url.To($"/batches/{batch.Id}/cancel/confirm"))}">Cancel…</a>""");
        return html.Append("</div>").ToString();
    }

    private string StatusTabs(BatchSummary batch, string? current)
    {
        var html = new StringBuilder("""<ul class="nav nav-tabs dispatcher-tabs">""");
        html.Append($"""<li class="{(current is null ? "active" : "")}"><a href="{Encode(Url.To($"/batches/{batch.Id}"))}">All <span class="badge">{batch.Total}</span></a></li>""");
        foreach (var (status, count) in BatchProgress.ByStatus(batch))
            html.Append($"""<li class="{(current == status ? "active" : "")}"><a href="{Encode(Url.To($"/batches/{batch.Id}?status={status}"))}">{Encode(status.Replace('_', ' '))} <span class="badge">{Live($"batch.{batch.Id}.count.{status}", count.ToString())}</span></a></li>""");
        return html.Append("</ul>").ToString();
    }

    private string ContactTable(ContactPage page)
    {
        if (page.Contacts.Count == 0) return """<div class="alert alert-info">No contacts here.</div>""";
        var html = new StringBuilder("""<div class="table-responsive"><table class="table table-hover dispatcher-contacts" aria-describedby="page-title"><thead><tr>""");
        html.Append("""<th class="min-width">Contact</th><th>Phone</th><th>Name</th><th class="min-width">Status</th><th class="min-width">Attempts</th><th>Calls (Ultravox id · end reason)</th><th>Last error</th><th class="min-width">Hangfire</th></tr></thead><tbody>""");
        foreach (var contact in page.Contacts)
        {
            html.Append($"""<tr id="contact-{contact.Id}"><td>{contact.Id}</td><td class="text-nowrap">{Encode(Redaction.Phone(contact.PhoneNumber))}</td><td>{Encode(contact.Name)}</td>""");
            html.Append($"<td>{StatusLabel(contact.Status)}{Requeued(contact.RequeuedAt, contact.RequeuedBy)}</td><td>{contact.Attempts}</td><td>");
            foreach (var call in contact.Calls)
                html.Append($"""<div class="dispatcher-call"><code>{Encode(call.UltravoxCallId)}</code> · attempt {call.Attempt} · {Encode(call.Status)}{(call.EndReason is null ? "" : " · " + Encode(call.EndReason))}</div>""");
            html.Append($"<td>{Encode(Redaction.Text(contact.LastError))}</td><td>{JobLink(contact.FailedJobId, "failed job")}");
            if (contact is { Status: "failed", FailedJobId: not null }) html.Append(Form($"/batches/{batchId}/contacts/{contact.Id}/requeue", "Requeue"));
            html.Append("</td></tr>");
        }
        return html.Append("</tbody></table></div>").ToString();
    }
}
