using System.Text;
using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;

namespace Dispatcher.Web.Dashboard;

/// <summary>/batches: every batch newest first, with its progress bar, pace, calling hours, contacts waiting for their window, status and ETA; paged by id.</summary>
public sealed class BatchesPage() : OperatorPage("Batches")
{
    private const int PageSize = 20;

    protected override void Body()
    {
        var active = Query("status") == "active";
        var before = QueryLong("before");
        var page = Read(ct => Service<BatchQueries>().ListAsync(active ? BatchQueries.ActiveStatuses : null, before, PageSize, ct));
        var now = Now;
        var batches = Read(ct => Service<BatchQueries>().WithWindowWaitsAsync(page.Batches, now, ct));
        // The same reading of the hours as the dialler's, for the whole page in one statement.
        var hours = Read(ct => Service<ContactWindows>().HoursAsync(batches.Select(b => b.Id).ToList(), ct));
        var html = new StringBuilder();
        html.Append("""<div class="row"><div class="col-md-12"><h1 id="page-title" class="page-header">Batches</h1>""");
        html.Append($"""<div class="btn-group dispatcher-tabs"><a class="btn btn-sm btn-default{(active ? "" : " active")}" href="{Encode(Url.To("/batches"))}">All</a>""");
        html.Append($"""<a class="btn btn-sm btn-default{(active ? " active" : "")}" href="{Encode(Url.To("/batches?status=active"))}">Active</a></div>""");
        if (batches.Count == 0)
            html.Append("""<div class="alert alert-info">No batches yet. Create one through the API (POST /api/batches).</div>""");
        else
        {
            html.Append("""<div class="table-responsive"><table class="table table-hover dispatcher-batches" aria-describedby="page-title"><thead><tr>""");
            html.Append("""<th class="min-width">Id</th><th>Name</th><th class="min-width">Status</th><th>Progress</th><th class="min-width">Done</th>""");
            html.Append("""<th class="min-width">Rate</th><th class="min-width">Max concurrent</th><th>Calling hours</th><th>Waiting for window</th>""");
            html.Append("""<th class="min-width">ETA or start</th></tr></thead><tbody>""");
            foreach (var batch in batches)
            {
                var progress = BatchProgress.Of(batch, now);
                var link = Encode(Url.To($"/batches/{batch.Id}"));
                html.Append($"""<tr data-batch="{batch.Id}"><td><a href="{link}">{batch.Id}</a></td><td><a href="{link}">{Encode(batch.Name)}</a></td>""");
                html.Append($"""<td>{Live($"batch.{batch.Id}.status", batch.Status)}</td><td>{Bar(progress)}</td>""");
                html.Append($"""<td class="text-nowrap">{Live($"batch.{batch.Id}.done", $"{progress.Done} / {batch.Total}")}</td>""");
                html.Append($"""<td class="text-nowrap">{batch.CallsPerMinute}/min</td><td>{batch.MaxConcurrent}</td>""");
                html.Append($"""<td>{CallingHoursText(hours.GetValueOrDefault(batch.Id), batch)}</td><td>{Live($"batch.{batch.Id}.window", progress.WindowWait)}</td>""");
                html.Append($"""<td class="text-nowrap">{Live($"batch.{batch.Id}.eta", progress.Eta)}</td></tr>""");
            }
            html.Append("</tbody></table></div>");
        }
        if (page.NextBeforeId is { } next)
            html.Append($"""<a class="btn btn-sm btn-default" rel="next" href="{Encode(Url.To($"/batches?{(active ? "status=active&" : "")}before={next}"))}">Older batches</a>""");
        if (before is not null)
            html.Append($"""<a class="btn btn-sm btn-default" href="{Encode(Url.To(active ? "/batches?status=active" : "/batches"))}">Newest</a>""");
        html.Append("</div></div>");
        Raw(html.ToString());
    }
}
