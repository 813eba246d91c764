using System.Text.RegularExpressions;
using Dispatcher.Jobs.CallingRules;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// POST /stops/{agency|all}/stop (only with confirm=yes, the answer of the page that asks first;
/// without it, back to that page with nothing changed) and /stops/{agency|all}/resume, through
/// <see cref="DispatchStops"/> as the REST API does, recorded under the signed-in user.
/// </summary>
public sealed class StopActions : OperatorAction
{
    public const string Route = "/stops/(?<scope>all|\\d{1,18})/(?<action>stop|resume)";

    protected override async Task<string> ActAsync(Match route, IFormCollection form, IServiceProvider services, string user, CancellationToken ct)
    {
        var scope = route.Groups["scope"].Value;
        long? agencyId = scope == "all" ? null : long.Parse(scope);
        var back = agencyId is null ? "/do-not-call?" : $"/do-not-call?agency={agencyId}&";
        var stops = services.GetRequiredService<DispatchStops>();
        if (route.Groups["action"].Value == "stop")
        {
            if (form["confirm"] != "yes") return $"/stops/{scope}/confirm";
            StopOutcome stopped;
            try
            {
                stopped = await stops.StopAsync(agencyId, user, ct);
            }
            catch (NoSuchAgencyException)
            {
                return back + "done=no-agency";
            }
            return back + (stopped.AlreadyStopped ? "done=already-stopped" : $"done=stopped&paused={stopped.BatchesPaused}")
                   + (stopped.DialsUnsettled > 0 ? $"&unsettled={stopped.DialsUnsettled}" : "");
        }
        try
        {
            return back + $"done=resumed&restored={(await stops.ResumeAsync(agencyId, user, ct)).BatchesRestored}";
        }
        catch (StoppedForAllException)
        {
            return back + "done=stopped-for-all";
        }
    }
}
