using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Web.Api;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Dispatcher.Web.Campaigns;

public sealed record CreateAgencyRequest(string? Name, string? UltravoxApiKey);
public sealed record SetUltravoxKeyRequest(string? UltravoxApiKey);
/// <summary>An agency as the API shows it: whether it has an Ultravox key, never the key.</summary>
public sealed record AgencyCreated(long Id, string Name, bool HasUltravoxApiKey);
public sealed record CreateAgentMappingRequest(string? UltravoxAgentId, string? UltravoxAgentName, string? FromNumber);
public sealed record AgentMappingCreated(long Id, long AgencyId, string UltravoxAgentId, string UltravoxAgentName, string FromNumber);
// Defaults mark the optional fields, so that the OpenAPI document does not list them as required.
public sealed record ContactRequest(string? PhoneNumber, string? Name = null, Dictionary<string, string>? Variables = null, string? TimeZone = null);
public sealed record CreateBatchRequest(long? AgencyId, long? AgentMappingId, string? Name, int? CallsPerMinute, int? MaxConcurrent, List<ContactRequest>? Contacts,
    int? MaxAttempts = null, DateTimeOffset? ScheduledFor = null, string? CallingHours = null);
/// <summary>The new batch; with invalid_rows=skip, how many contacts were skipped and (up to 1,000 of) which.</summary>
public sealed record BatchCreated(BatchSummary Batch, int Imported, int Skipped, IReadOnlyList<InvalidContact> Invalid);
public sealed record FailedContactsRetried(int Requeued, BatchSummary Batch);

/// <summary>REST API for agencies, agent mappings and batches, under /api.</summary>
public static class CampaignApi
{
    /// <summary>Default upper bound of one request body (a CSV of 100,000 contacts with a few variables is about 10 MB).</summary>
    public const long DefaultMaxUploadBytes = 64L * 1024 * 1024;

    public static RouteGroupBuilder MapCampaignApi(this RouteGroupBuilder api, long maxUploadBytes)
    {
        var agencies = api.MapGroup("/agencies").WithTags("Agencies");
        agencies.MapPost("/", CreateAgencyAsync).WithName("CreateAgency").WithSummary("Create an agency with its Ultravox API key (stored encrypted, never shown)")
            .Produces<AgencyCreated>(StatusCodes.Status201Created);
        agencies.MapPut("/{agencyId:long}/ultravox-key", SetUltravoxKeyAsync).WithName("SetUltravoxKey").WithSummary("Replace (or with null, remove) an agency's Ultravox API key")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        agencies.MapPost("/{agencyId:long}/agents", CreateAgentMappingAsync).WithName("CreateAgentMapping")
            .WithSummary("Map an Ultravox agent and a caller number to an agency, for its batches")
            .Produces<AgentMappingCreated>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status404NotFound);

        var batches = api.MapGroup("/batches").WithTags("Batches");
        var limit = new RequestSizeLimitAttribute(maxUploadBytes);
        batches.MapPost("/", CreateBatchAsync).WithName("CreateBatch").WithSummary("Create a batch with its contacts as JSON")
            .WithMetadata(limit).Produces<BatchCreated>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        batches.MapPost("/csv", CreateBatchFromCsvAsync).WithName("CreateBatchFromCsv")
            .WithSummary("Create a batch from a CSV upload (raw body; up to 100,000 contacts; settings in the query string)")
            .WithMetadata(limit).Accepts<string>("text/csv", "application/csv", "text/plain").Produces<BatchCreated>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        batches.MapGet("/{batchId:long}", GetBatchAsync).WithName("GetBatch").WithSummary("A batch and its contact counts")
            .Produces<BatchSummary>().ProducesProblem(StatusCodes.Status404NotFound);
        batches.MapPost("/{batchId:long}/pause", (long batchId, Batches all, CancellationToken ct) =>
                ChangeAsync(batchId, all, "paused", "pending, scheduled or processing", () => all.PauseAsync(batchId, ct), ct))
            .WithName("PauseBatch").WithSummary("Stop dialling; calls in progress finish").Produces<BatchSummary>()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        batches.MapPost("/{batchId:long}/resume", (long batchId, Batches all, CancellationToken ct) =>
                ChangeAsync(batchId, all, "resumed", "paused", () => all.ResumeAsync(batchId, ct), ct))
            .WithName("ResumeBatch").WithSummary("Dial again after a pause").Produces<BatchSummary>()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        batches.MapPost("/{batchId:long}/cancel", (long batchId, Batches all, CancellationToken ct) =>
                ChangeAsync(batchId, all, "cancelled", "pending, scheduled, processing or paused", () => all.CancelAsync(batchId, ct), ct))
            .WithName("CancelBatch").WithSummary("Cancel contacts not yet dialled; calls in progress finish").Produces<BatchSummary>()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        batches.MapPost("/{batchId:long}/retry-failed", RetryFailedAsync).WithName("RetryFailedContacts")
            .WithSummary("Queue the batch's failed contacts again, one more attempt each").Produces<FailedContactsRetried>()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return api;
    }

    private static async Task<IResult> CreateAgencyAsync(CreateAgencyRequest body, AgencyDirectory directory, HttpRequest request, ILogger<AgencyDirectory> logger,
        CancellationToken ct)
    {
        var faults = new ApiProblems.Faults();
        var name = faults.Require("name", body.Name);
        if (name.Length > 200) faults.Add("name", "is longer than 200 characters");
        if (body.UltravoxApiKey is { } key && string.IsNullOrWhiteSpace(key)) faults.Add("ultravox_api_key", "is empty; leave it out to add it later");
        if (faults.Any) return ApiProblems.Invalid("Invalid agency", faults.ToDictionary());
        var id = await directory.CreateAgencyAsync(name, body.UltravoxApiKey?.Trim(), ct);
        logger.LogInformation("Agency {AgencyId} created (Ultravox key {KeyState})", id, body.UltravoxApiKey is null ? "absent" : "stored encrypted");
        return Results.Created(Absolute(request, $"/api/agencies/{id}"), new AgencyCreated(id, name, body.UltravoxApiKey is not null));
    }

    private static async Task<IResult> SetUltravoxKeyAsync(long agencyId, SetUltravoxKeyRequest body, AgencyDirectory directory, ILogger<AgencyDirectory> logger,
        CancellationToken ct)
    {
        if (body.UltravoxApiKey is { } key && string.IsNullOrWhiteSpace(key))
            return ApiProblems.Invalid("Invalid key", new Dictionary<string, string[]> { ["ultravox_api_key"] = ["is empty; send null to remove the key"] });
        if (!await directory.SetApiKeyAsync(agencyId, body.UltravoxApiKey?.Trim(), ct)) return ApiProblems.NotFound($"no agency {agencyId}");
        logger.LogInformation("Agency {AgencyId} Ultravox key {KeyState}", agencyId, body.UltravoxApiKey is null ? "removed" : "replaced");
        return Results.NoContent();
    }

    private static async Task<IResult> CreateAgentMappingAsync(long agencyId, CreateAgentMappingRequest body, AgencyDirectory directory, HttpRequest request,
        CancellationToken ct)
    {
        var faults = new ApiProblems.Faults();
        var agentId = faults.Require("ultravox_agent_id", body.UltravoxAgentId);
        if (agentId.Length > 0 && !UltravoxAgentId.IsValid(agentId)) faults.Add("ultravox_agent_id", UltravoxAgentId.Problem(agentId));
        var fromNumber = faults.Require("from_number", body.FromNumber);
        if (fromNumber.Length > 0 && !PhoneNumber.IsE164(fromNumber)) faults.Add("from_number", $"'{fromNumber}' is not in E.164 form, e.g. +14155550123");
        if (faults.Any) return ApiProblems.Invalid("Invalid agent mapping", faults.ToDictionary());
        var agentName = body.UltravoxAgentName?.Trim() ?? "";
        try
        {
            var id = await directory.CreateAgentMappingAsync(agencyId, agentId, agentName, fromNumber, ct);
            return Results.Created(Absolute(request, $"/api/agencies/{agencyId}/agents/{id}"), new AgentMappingCreated(id, agencyId, agentId, agentName, fromNumber));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return ApiProblems.NotFound($"no agency {agencyId}");
        }
    }

    private static async Task<IResult> CreateBatchAsync(CreateBatchRequest body, [FromQuery(Name = "invalid_rows")] string? invalidRows, Batches batches,
        HttpRequest request, ILogger<Batches> logger, CancellationToken ct)
    {
        var faults = new ApiProblems.Faults();
        var settings = Settings(faults, body.AgencyId, body.AgentMappingId, body.Name, body.CallsPerMinute, body.MaxConcurrent, body.MaxAttempts, body.ScheduledFor,
            body.CallingHours);
        var policy = Policy(faults, invalidRows);
        if (body.Contacts is null or { Count: 0 }) faults.Add("contacts", "is required: a list of {phone_number, name, variables}");
        else if (body.Contacts.Count > Batches.MaxContacts) return TooMany(new TooManyContactsException(Batches.MaxContacts));
        if (faults.Any) return ApiProblems.Invalid("Invalid batch", faults.ToDictionary());
        var lines = body.Contacts!.Select((c, i) => c is null
                ? new ContactLine(i, null, "row", "is null")
                : ContactLine.Checked(i, new NewContact(c.PhoneNumber ?? "", c.Name, c.Variables, c.TimeZone)))
            .ToAsyncEnumerable();
        return await ImportAsync(settings, lines, policy, line => $"contacts[{line.Line}].{line.Field}", batches, request, logger, ct);
    }

    private static async Task<IResult> CreateBatchFromCsvAsync(HttpRequest request, Batches batches, ILogger<Batches> logger, CancellationToken ct,
        [FromQuery(Name = "agency_id")] long? agencyId, [FromQuery(Name = "agent_mapping_id")] long? agentMappingId, [FromQuery] string? name,
        [FromQuery(Name = "calls_per_minute")] int? callsPerMinute, [FromQuery(Name = "max_concurrent")] int? maxConcurrent,
        [FromQuery(Name = "max_attempts")] int? maxAttempts, [FromQuery(Name = "scheduled_for")] DateTimeOffset? scheduledFor,
        [FromQuery(Name = "invalid_rows")] string? invalidRows, [FromQuery(Name = "calling_hours")] string? callingHours)
    {
        var faults = new ApiProblems.Faults();
        var settings = Settings(faults, agencyId, agentMappingId, name, callsPerMinute, maxConcurrent, maxAttempts, scheduledFor, callingHours);
        var policy = Policy(faults, invalidRows);
        if (faults.Any) return ApiProblems.Invalid("Invalid batch", faults.ToDictionary());
        try
        {
            return await ImportAsync(settings, ContactCsv.ReadAsync(request.Body, ct), policy,
                line => $"line {line.Line}", batches, request, logger, ct);
        }
        catch (ContactFileException ex)
        {
            return ApiProblems.BadRequest("Unreadable CSV", ex.Message);
        }
    }

    private static async Task<IResult> ImportAsync(BatchSettings settings, IAsyncEnumerable<ContactLine> lines, InvalidRows policy,
        Func<InvalidContact, string> where, Batches batches, HttpRequest request, ILogger logger, CancellationToken ct)
    {
        ImportResult result;
        try { result = await batches.ImportAsync(settings, lines, policy, ct); }
        catch (TooManyContactsException ex) { return TooMany(ex); }
        catch (System.Text.DecoderFallbackException ex)
        {
            return ApiProblems.BadRequest("Unreadable CSV", $"the CSV is not UTF-8: bytes [{string.Join(' ', (ex.BytesUnknown ?? []).Select(b => b.ToString("X2")))}] are no UTF-8 character");
        }
        catch (ArgumentException ex) { return ApiProblems.BadRequest("Invalid batch", ex.Message); }
        switch (result)
        {
            case ImportResult.Rejected rejected:
                var errors = rejected.Invalid.GroupBy(where).ToDictionary(g => g.Key,
                    g => g.Select(i => i.Field is "row" ? i.Message : $"{i.Field}: {i.Message}").ToArray());
                return ApiProblems.Invalid("Invalid contacts", errors,
                    $"{rejected.InvalidCount:N0} contact(s) are invalid, so nothing was created; fix them, or send invalid_rows=skip to leave them out",
                    new Dictionary<string, object?> { ["invalid_count"] = rejected.InvalidCount });
            case ImportResult.Created created:
                logger.LogInformation("Batch {BatchId} created for agency {AgencyId}: {Imported} contacts, {Skipped} invalid skipped",
                    created.BatchId, settings.AgencyId, created.Imported, created.Skipped);
                var batch = (await batches.GetAsync(created.BatchId, ct))!;
                return Results.Created(Absolute(request, $"/api/batches/{created.BatchId}"),
                    new BatchCreated(batch, created.Imported, created.Skipped, created.Invalid));
            default:
                throw new InvalidOperationException($"unexpected import result {result}");
        }
    }

    private static async Task<IResult> GetBatchAsync(long batchId, Batches batches, CancellationToken ct) =>
        await batches.GetAsync(batchId, ct) is { } batch ? Results.Ok(batch) : ApiProblems.NotFound($"no batch {batchId}");

    private static async Task<IResult> ChangeAsync(long batchId, Batches batches, string done, string allowedFrom, Func<Task<bool>> change, CancellationToken ct)
    {
        if (await batches.GetAsync(batchId, ct) is null) return ApiProblems.NotFound($"no batch {batchId}");
        var changed = await change();
        var batch = (await batches.GetAsync(batchId, ct))!;
        return changed ? Results.Ok(batch)
            : ApiProblems.Conflict($"batch {batchId} is {batch.Status}; only a {allowedFrom} batch can be {done}");
    }

    /// <summary>Who a retry through the API is recorded as: API keys carry no name.</summary>
    private const string RequeuedThroughApi = "REST API";

    private static async Task<IResult> RetryFailedAsync(long batchId, Batches batches, CancellationToken ct)
    {
        if (await batches.GetAsync(batchId, ct) is not { } before) return ApiProblems.NotFound($"no batch {batchId}");
        if (before.Status is "pending" or "scheduled" or "cancelled")
            return ApiProblems.Conflict($"batch {batchId} is {before.Status}; failed contacts are retried in a processing, paused, completed or failed batch");
        var requeued = await batches.RetryFailedAsync(batchId, RequeuedThroughApi, ct);
        return Results.Ok(new FailedContactsRetried(requeued, (await batches.GetAsync(batchId, ct))!));
    }

    private static BatchSettings Settings(ApiProblems.Faults faults, long? agencyId, long? agentMappingId, string? name, int? callsPerMinute,
        int? maxConcurrent, int? maxAttempts, DateTimeOffset? scheduledFor, string? callingHours)
    {
        CallingHours? hours = null;
        if (callingHours is not null)
        {
            if (CallingHours.TryParse(callingHours, out var parsed, out var error)) hours = parsed;
            else faults.Add("calling_hours", error);
        }
        var settings = new BatchSettings(faults.Require("agency_id", agencyId), faults.Require("agent_mapping_id", agentMappingId),
            faults.Require("name", name), faults.Require("calls_per_minute", callsPerMinute), faults.Require("max_concurrent", maxConcurrent),
            maxAttempts ?? 1, scheduledFor, hours);
        if (callsPerMinute is < 1 or > 6000) faults.Add("calls_per_minute", "must be 1-6000");
        if (maxConcurrent is < 1 or > 1000) faults.Add("max_concurrent", "must be 1-1000");
        if (maxAttempts is < 1 or > 10) faults.Add("max_attempts", "must be 1-10");
        if (settings.Name.Length > 200) faults.Add("name", "is longer than 200 characters");
        return settings;
    }

    private static InvalidRows Policy(ApiProblems.Faults faults, string? invalidRows)
    {
        switch (invalidRows?.Trim().ToLowerInvariant())
        {
            case null or "" or "reject": return InvalidRows.Reject;
            case "skip": return InvalidRows.Skip;
            default:
                faults.Add("invalid_rows", $"'{invalidRows}' is not reject (the default: any invalid contact rejects the whole upload) or skip");
                return InvalidRows.Reject;
        }
    }

    private static IResult TooMany(TooManyContactsException ex) =>
        Results.Problem(ex.Message, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too many contacts");

    /// <summary>Absolute, with the scheme and host the client used (X-Forwarded-Proto/Host behind a proxy).</summary>
    private static string Absolute(HttpRequest request, string path) => $"{request.Scheme}://{request.Host}{request.PathBase}{path}";
}
