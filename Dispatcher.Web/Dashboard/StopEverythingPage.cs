using Dispatcher.Jobs.CallingRules;

namespace Dispatcher.Web.Dashboard;

/// <summary>GET /stops/{agency|all}/confirm: asks before stopping everything, without JavaScript; the form posts to /stops/{agency|all}/stop.</summary>
public sealed class StopEverythingPage(long? agencyId) : OperatorPage(agencyId is null ? "Stop all agencies" : $"Stop agency {agencyId}")
{
    protected override void Body()
    {
        var back = Encode(Url.To(agencyId is null ? "/do-not-call" : $"/do-not-call?agency={agencyId}"));
        if (IsReadOnly)
        {
            Http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            Raw($"""<div class="alert alert-warning">This sign-in is read-only. <a href="{back}">Back</a></div>""");
            return;
        }
        var stops = Read(Service<DispatchStops>().InForceAsync);
        var scope = agencyId is null ? "every agency" : $"agency {agencyId}";
        var already = stops.Any(s => s.AgencyId is null || s.AgencyId == agencyId)
            ? """<p class="alert alert-warning">A stop covering this is in force already; stopping again pauses any batch that started since.</p>"""
            : "";
        Raw($"""
            <h1 id="page-title" class="page-header">{Encode(Title)}?</h1>
            {already}
            <p>Every pending, scheduled and processing batch of {Encode(scope)} is paused{(agencyId is null ? ", and onboarding calls are held" : "")}.
            Calls already live finish; nothing new is dialled until you resume. Resume gives each batch back the state the stop found it in.</p>
            <div class="btn-toolbar">{Form($"/stops/{agencyId?.ToString() ?? "all"}/stop", $"Stop {scope}", "btn-danger", """<input type="hidden" name="confirm" value="yes">""")}
            <a class="btn btn-sm btn-default" href="{back}">Keep dialling</a></div>
            """);
    }
}
