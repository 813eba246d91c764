using Dispatcher.Jobs.Campaigns;

namespace Dispatcher.Web.Dashboard;

/// <summary>GET /batches/{id}/cancel/confirm: asks before cancelling, without JavaScript; the form posts to /batches/{id}/cancel.</summary>
public sealed class CancelBatchPage(long batchId) : OperatorPage($"Cancel batch {batchId}")
{
    protected override void Body()
    {
        var batch = Read(ct => Service<Batches>().GetAsync(batchId, ct));
        var back = Encode(Url.To($"/batches/{batchId}"));
        if (batch is null || IsReadOnly)
        {
            Http.Response.StatusCode = batch is null ? StatusCodes.Status404NotFound : StatusCodes.Status401Unauthorized;
            Raw($"""<div class="alert alert-warning">{(batch is null ? "No such batch." : "This sign-in is read-only.")} <a href="{back}">Back</a></div>""");
            return;
        }
        var waiting = batch.Queued + batch.Pending;
        Raw($"""
            <h1 id="page-title" class="page-header">Cancel batch {batch.Id} · {Encode(batch.Name)}?</h1>
            <p>{waiting} contact(s) waiting for a call will not be called. Calls already live finish. This cannot be undone.</p>
            <div class="btn-toolbar">{Form($"/batches/{batch.Id}/cancel", "Cancel the batch", "btn-danger", """<input type="hidden" name="confirm" value="yes">""")}
            <a class="btn btn-sm btn-default" href="{back}">Keep it running</a></div>
            """);
    }
}
