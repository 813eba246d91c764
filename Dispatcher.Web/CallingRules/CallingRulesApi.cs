using Dispatcher.Jobs.CallingRules;
using Dispatcher.Web.Api;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Mvc;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.Extensions.Options;

namespace Dispatcher.Web.CallingRules;

public sealed record SetCallingHoursRequest(string? CallingHours);
public sealed record CallingHoursSet(long AgencyId, string CallingHours, bool ServiceDefault);
public sealed record DoNotCallChanged(int Changed, int Given);
public sealed record StopRequest(long? AgencyId = null);
public sealed record StopAnswer(StopOutcome Outcome, IReadOnlyList<DispatchStop> InForce);
public sealed record ResumeAnswer(ResumeOutcome Outcome, IReadOnlyList<DispatchStop> InForce);

/// <summary>REST API for the calling rules: an agency's calling hours, its do-not-call list, stop everything and resume.</summary>
public static class CallingRulesApi
{
    public static RouteGroupBuilder MapCallingRulesApi(this RouteGroupBuilder api)
    {
        var agencies = api.MapGroup("/agencies/{agencyId:long}").WithTags("Calling rules");
        agencies.MapPut("/calling-hours", SetHoursAsync).WithName("SetCallingHours")
            .WithSummary("Set an agency's calling hours, e.g. \"Mon-Sat 09:00-20:00\" in each contact's own zone (null: the service's CALLING_HOURS)")
            .Produces<CallingHoursSet>().ProducesProblem(StatusCodes.Status404NotFound);
        agencies.MapGet("/do-not-call", ListAsync).WithName("ListDoNotCall").WithSummary("The agency's do-not-call entries, newest first (include_removed for the audit)")
            .Produces<DoNotCallPage>();
        agencies.MapPost("/do-not-call", (long agencyId, HttpRequest request, DoNotCallList list, IOptions<JsonOptions> json, CancellationToken ct) =>
                ChangeListAsync(agencyId, request, json, (numbers, reason, by) => list.AddAsync(agencyId, numbers, reason, by, ct), ct))
            .WithName("AddDoNotCall").WithSummary("Add numbers (JSON {phone_numbers, reason}, or a CSV of numbers as text/csv) to the agency's do-not-call list")
            .Accepts<DoNotCallRequest>("application/json", "text/csv").Produces<DoNotCallChanged>().ProducesProblem(StatusCodes.Status404NotFound);
        agencies.MapPost("/do-not-call/remove", (long agencyId, HttpRequest request, DoNotCallList list, IOptions<JsonOptions> json, CancellationToken ct) =>
                ChangeListAsync(agencyId, request, json, (numbers, _, by) => list.RemoveAsync(agencyId, numbers, by, ct), ct))
            .WithName("RemoveDoNotCall").WithSummary("Take numbers (JSON or CSV, as for adding) off the list; the entries stay, marked removed, for the audit")
            .Accepts<DoNotCallRequest>("application/json", "text/csv").Produces<DoNotCallChanged>().ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/stop", async (DispatchStops all, CancellationToken ct) => Results.Ok(await all.InForceAsync(ct)))
            .WithName("StopsInForce").WithSummary("The stops in force").WithTags("Stop everything").Produces<IReadOnlyList<DispatchStop>>();
        api.MapPost("/stop", StopAsync).WithTags("Stop everything").WithName("StopEverything")
            .WithSummary("Pause every batch of an agency (agency_id) or of all agencies, and hold onboarding calls (all); live calls finish")
            .Produces<StopAnswer>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/resume", ResumeAsync).WithTags("Stop everything").WithName("ResumeEverything")
            .WithSummary("Lift a stop: each batch it paused gets its earlier state back").Produces<ResumeAnswer>().ProducesProblem(StatusCodes.Status409Conflict);
        return api;
    }

    private static async Task<IResult> SetHoursAsync(long agencyId, SetCallingHoursRequest body, ContactWindows windows, CallingRulesOptions options,
        CancellationToken ct)
    {
        CallingHours? hours = null;
        if (body.CallingHours is { } text)
        {
            if (!CallingHours.TryParse(text, out var parsed, out var error))
                return ApiProblems.Invalid("Invalid calling hours", new Dictionary<string, string[]> { ["calling_hours"] = [error] });
            hours = parsed;
        }
        if (!await windows.SetAgencyHoursAsync(agencyId, hours, ct)) return ApiProblems.NotFound($"no agency {agencyId}");
        return Results.Ok(new CallingHoursSet(agencyId, (hours ?? options.DefaultHours).ToString(), hours is null));
    }

    private static async Task<IResult> ListAsync(long agencyId, DoNotCallList list, CancellationToken ct,
        [FromQuery(Name = "include_removed")] bool? includeRemoved, [FromQuery(Name = "before_id")] long? beforeId, [FromQuery] int? limit) =>
        Results.Ok(await list.ListAsync(agencyId, includeRemoved ?? false, beforeId, limit ?? 50, ct));

    private static async Task<IResult> ChangeListAsync(long agencyId, HttpRequest request, IOptions<JsonOptions> json,
        Func<IReadOnlyCollection<string>, string?, string, Task<int?>> change, CancellationToken ct)
    {
        var upload = await NumberUpload.ReadAsync(request, json, ct);
        if (upload.Faults.Count > 0)
            return ApiProblems.Invalid("Invalid phone numbers", upload.Faults, "nothing was changed; fix these and send the list again");
        if (upload.Numbers.Count > DoNotCallList.MaxNumbersPerRequest)
            return ApiProblems.BadRequest("Too many numbers", $"at most {DoNotCallList.MaxNumbersPerRequest:N0} numbers per request");
        return await change(upload.Numbers, upload.Reason, ApiCaller.Of(request)) is { } changed
            ? Results.Ok(new DoNotCallChanged(changed, upload.Numbers.Count))
            : ApiProblems.NotFound($"no agency {agencyId}");
    }

    private static async Task<IResult> StopAsync(StopRequest? body, DispatchStops stops, HttpRequest request, CancellationToken ct)
    {
        try
        {
            var outcome = await stops.StopAsync(body?.AgencyId, ApiCaller.Of(request), ct);
            return Results.Ok(new StopAnswer(outcome, await stops.InForceAsync(ct)));
        }
        catch (NoSuchAgencyException ex)
        {
            return ApiProblems.NotFound(ex.Message);
        }
    }

    private static async Task<IResult> ResumeAsync(StopRequest? body, DispatchStops stops, HttpRequest request, CancellationToken ct)
    {
        try
        {
            var outcome = await stops.ResumeAsync(body?.AgencyId, ApiCaller.Of(request), ct);
            return Results.Ok(new ResumeAnswer(outcome, await stops.InForceAsync(ct)));
        }
        catch (StoppedForAllException ex)
        {
            return ApiProblems.Conflict(ex.Message);
        }
    }
}
