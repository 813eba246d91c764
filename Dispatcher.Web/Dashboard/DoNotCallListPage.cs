using System.Text;
using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// /do-not-call[?agency=ID]: stop everything (stops in force, stop after asking, resume), then one
/// agency's calling hours and its do-not-call list, newest first and paged by id, with who added
/// (and removed) each number and when; forms to add a number and remove one.
/// </summary>
public sealed class DoNotCallListPage() : OperatorPage("Do not call")
{
    private const int PageSize = 50;

    // Enough agencies to pick from in one list; an agency beyond it is still reached by ?agency=ID.
    private const int MaxAgenciesListed = 500;

    protected override void Body()
    {
        var agencies = Read(ct => Service<AgencyDirectory>().ListAsync(MaxAgenciesListed, ct));
        var chosen = QueryLong("agency") is { } id ? agencies.FirstOrDefault(a => a.Id == id) ?? new AgencyListing(id, $"Agency {id}", null) : agencies.FirstOrDefault();
        var stops = Read(Service<DispatchStops>().InForceAsync);
        var html = new StringBuilder("""<div class="row"><div class="col-md-12"><h1 id="page-title" class="page-header">Do not call</h1>""");
        if (Outcome() is { } outcome) html.Append($"""<div class="alert alert-info" role="status">{Encode(outcome)}</div>""");
        html.Append(StopEverything(stops, agencies, chosen));
        if (chosen is null)
        {
            Raw(html.Append("""<div class="alert alert-info">No agencies yet. Create one through the API (POST /api/agencies).</div></div></div>""").ToString());
            return;
        }
        html.Append(AgencyPicker(agencies, chosen));
        var withRemoved = Query("removed") == "true";
        var page = Read(ct => Service<DoNotCallList>().ListAsync(chosen.Id, withRemoved, QueryLong("before"), PageSize, ct));
        html.Append($"""<h3 id="do-not-call-list">Do-not-call list of {Encode(chosen.Name)}</h3>""");
        html.Append("""<div class="dispatcher-dnc-add">""");
        html.Append(Form($"/do-not-call/{chosen.Id}/add", "Add to the list", "btn-primary",
            """<label class="sr-only" for="dnc-number">Phone number</label><input type="text" class="form-control input-sm" id="dnc-number" name="phone_number" placeholder="+14155550123" required>"""
            + """<label class="sr-only" for="dnc-reason">Reason</label><input type="text" class="form-control input-sm" id="dnc-reason" name="reason" placeholder="reason (optional)" maxlength="500">"""));
        html.Append("</div>");
        var listUrl = $"/do-not-call?agency={chosen.Id}";
        html.Append($"""<p><a href="{Encode(Url.To(withRemoved ? listUrl : listUrl + "&removed=true"))}">{(withRemoved ? "Only numbers listed now" : "Removed entries too (the audit)")}</a></p>""");
        html.Append(EntryTable(chosen.Id, page));
        if (page.NextBeforeId is { } next)
            html.Append($"""<a class="btn btn-sm btn-default" rel="next" href="{Encode(Url.To($"{listUrl}{(withRemoved ? "&removed=true" : "")}&before={next}"))}">Older entries</a>""");
        Raw(html.Append("</div></div>").ToString());
    }

    private string? Outcome() => Query("done") switch
    {
        "added" => "Added to the do-not-call list: the number is not dialled from now on.",
        "already-listed" => "That number is on the list already.",
        "invalid" => "Nothing changed: give the number in E.164 form, e.g. +14155550123.",
        "reason-too-long" => "Nothing changed: the reason is longer than 500 characters.",
        "removed" => "Removed from the do-not-call list; the entry stays in the audit.",
        "not-listed" => "That entry is not on the list (removed already?).",
        "no-agency" => "No such agency.",
        "stopped" => $"Stopped: {QueryLong("paused") ?? 0} batch(es) paused; calls already live finish."
                     + (QueryLong("unsettled") is { } n ? $" {n} dial(s) had not reached the provider when the stop answered." : ""),
        "already-stopped" => "A stop was in force already; any batch running since is paused now too.",
        "resumed" => $"Resumed: {QueryLong("restored") ?? 0} batch(es) back to their earlier state.",
        "stopped-for-all" => "Nothing changed: a stop of all agencies is in force; resume all agencies instead.",
        _ => null,
    };

    private string StopEverything(IReadOnlyList<DispatchStop> stops, IReadOnlyList<AgencyListing> agencies, AgencyListing? chosen)
    {
        var html = new StringBuilder("""<div class="dispatcher-stop"><h3>Stop everything</h3>""");
        if (stops.Count == 0) html.Append("""<p class="dispatcher-stops-none">No stop in force: batches dial within their calling hours.</p>""");
        foreach (var stop in stops)
        {
            var name = agencies.FirstOrDefault(a => a.Id == stop.AgencyId)?.Name;
            var what = stop.AgencyId is null ? "All agencies are stopped" : $"Agency {stop.AgencyId}{(name is null ? "" : " · " + name)} is stopped";
            html.Append($"""<div class="alert alert-danger dispatcher-stop-in-force" data-stop="{stop.AgencyId?.ToString() ?? "all"}"><strong>{Encode(what)}</strong>""");
            html.Append(Audit("dispatcher-stopped", "stopped", stop.StoppedAt, stop.StoppedBy));
            html.Append(Form($"/stops/{(stop.AgencyId?.ToString() ?? "all")}/resume", stop.AgencyId is null ? "Resume all agencies" : $"Resume agency {stop.AgencyId}", "btn-primary"));
            html.Append("</div>");
        }
        if (!IsReadOnly)
        {
            html.Append("""<div class="btn-toolbar">""");
            if (chosen is not null)
                html.Append($"""<a class="btn btn-sm btn-danger" href="{Encode(Url.To($"/stops/{chosen.Id}/confirm"))}">Stop {Encode(chosen.Name)}…</a>""");
            html.Append($"""<a class="btn btn-sm btn-danger" href="{Encode(Url.To("/stops/all/confirm"))}">Stop all agencies…</a></div>""");
        }
        return html.Append("</div>").ToString();
    }

    // A GET form: picking an agency works without JavaScript and gives a link to share.
    private string AgencyPicker(IReadOnlyList<AgencyListing> agencies, AgencyListing chosen)
    {
        var hours = chosen.CallingHours ?? Service<CallingRulesOptions>().DefaultHours;
        var html = new StringBuilder($"""<form method="get" action="{Encode(Url.To("/do-not-call"))}" class="form-inline dispatcher-agency-picker">""");
        html.Append("""<label for="agency">Agency</label> <select class="form-control input-sm" id="agency" name="agency">""");
        foreach (var agency in agencies.Append(chosen).DistinctBy(a => a.Id))
            html.Append($"""<option value="{agency.Id}"{(agency.Id == chosen.Id ? " selected" : "")}>{agency.Id} · {Encode(agency.Name)}</option>""");
        html.Append("""</select> <button type="submit" class="btn btn-sm btn-default">Show</button></form>""");
        html.Append($"""<p class="dispatcher-agency-hours">Calling hours: {Encode(hours.ToString())} in each contact's time zone{(chosen.CallingHours is null ? " (the service's CALLING_HOURS)" : "")}.</p>""");
        return html.ToString();
    }

    private string EntryTable(long agencyId, DoNotCallPage page)
    {
        if (page.Entries.Count == 0) return """<div class="alert alert-info">No numbers on the list.</div>""";
        var html = new StringBuilder("""<div class="table-responsive"><table class="table table-hover dispatcher-do-not-call" aria-describedby="do-not-call-list"><thead><tr>""");
        html.Append("""<th>Phone</th><th>Reason</th><th>Added</th><th>Removed</th><th class="min-width"></th></tr></thead><tbody>""");
        foreach (var entry in page.Entries)
        {
            html.Append($"""<tr id="dnc-{entry.Id}"><td class="text-nowrap">{Encode(Redaction.Phone(entry.PhoneNumber))}</td><td>{Encode(entry.Reason)}</td>""");
            html.Append($"""<td>{Audit("dispatcher-added", "added", entry.AddedAt, entry.AddedBy)}</td>""");
            html.Append($"""<td>{(entry.RemovedAt is { } removed ? Audit("dispatcher-removed", "removed", removed, entry.RemovedBy) : "")}</td><td>""");
            // The entry's id, not its number: a masked number stays masked in the page's source too.
            if (entry.RemovedAt is null)
                html.Append(Form($"/do-not-call/{agencyId}/remove", $"Remove {Redaction.Phone(entry.PhoneNumber)}", "btn-default", $"""<input type="hidden" name="entry" value="{entry.Id}">"""));
            html.Append("</td></tr>");
        }
        return html.Append("</tbody></table></div>").ToString();
    }
}
