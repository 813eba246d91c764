using System.Text.Json.Serialization;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Web.Api;

namespace Dispatcher.Web.Onboarding;

public static class OnboardingEndpoints
{
    public sealed record SignupRequest(
        [property: JsonPropertyName("user_id")] string? UserId,
        [property: JsonPropertyName("phone_number")] string? PhoneNumber,
        [property: JsonPropertyName("signup_mode")] string? SignupMode = null,
        [property: JsonPropertyName("metadata")] Dictionary<string, string>? Metadata = null);

    /// <summary>
    /// POST /api/signups and GET /api/onboarding-calls/{id}. Always mapped, so the API has one
    /// shape; without Twilio settings they answer 503 (onboarding calls are off).
    /// </summary>
    public static RouteGroupBuilder MapOnboardingApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("").WithTags("Onboarding");
        group.MapPost("/signups", async (SignupRequest body, HttpRequest request, CancellationToken ct) =>
        {
            if (request.HttpContext.RequestServices.GetService<Signups>() is not { } signups) return Off();
            var faults = new ApiProblems.Faults();
            faults.Require("user_id", body.UserId);
            var phone = faults.Require("phone_number", body.PhoneNumber);
            if (phone.Length > 0 && !Dispatcher.Jobs.Campaigns.PhoneNumber.IsE164(phone)) faults.Add("phone_number", $"'{phone}' is not in E.164 form, e.g. +14155550123");
            if (faults.Any) return ApiProblems.Invalid("Invalid signup", faults.ToDictionary());
            try
            {
                var result = await signups.RequestCallAsync(new Signup(body.UserId!, phone, body.SignupMode, body.Metadata), ct);
                return result.Created
                    ? Results.Created($"{request.Scheme}://{request.Host}{request.PathBase}/api/onboarding-calls/{result.JobId}", result)
                    : Results.Ok(result);
            }
            catch (ArgumentException ex)
            {
                return ApiProblems.BadRequest("Invalid signup", ex.Message);
            }
        }).WithName("CreateSignup").WithSummary("Request the onboarding call of a new signup (one per user per hour; a repeat answers 200 with the existing job)")
            .Produces<SignupResult>(StatusCodes.Status201Created).Produces<SignupResult>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/onboarding-calls/{id:long}", async (long id, HttpContext context, CancellationToken ct) =>
                context.RequestServices.GetService<Signups>() is not { } signups ? Off()
                : await signups.GetAsync(id, ct) is { } call ? Results.Ok(call) : ApiProblems.NotFound($"no onboarding call {id}"))
            .WithName("GetOnboardingCall").WithSummary("An onboarding call job and where it stands")
            .Produces<OnboardingCall>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return api;
    }

    private static IResult Off() => Results.Problem("onboarding calls are off: TWILIO_ACCOUNT_SID is not set", statusCode: StatusCodes.Status503ServiceUnavailable,
        title: "Onboarding calls are off");

    /// <summary>TwiML and Twilio's status callbacks, signature-checked.</summary>
    public static IEndpointRouteBuilder MapOnboarding(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/twiml/onboarding/{id:long}", ["GET", "POST"], async (long id, HttpRequest request, OnboardingScripts scripts,
            TwilioRequests twilio, CancellationToken ct) =>
        {
            if (await twilio.SignedFormAsync(request, ct) is null) return Results.Problem("X-Twilio-Signature does not match", statusCode: 403);
            return Results.Content(await scripts.TwimlAsync(id, ct), "application/xml");
        }).DisableAntiforgery();

        routes.MapPost("/webhooks/twilio/status", async (HttpRequest request, TwilioRequests twilio, TwilioStatusCallback callback,
            Dispatcher.Jobs.Campaigns.DialMetrics metrics, CancellationToken ct) =>
        {
            if (!request.HasFormContentType) return Results.Problem("expected a form post", statusCode: StatusCodes.Status400BadRequest, title: "Malformed callback");
            var form = await twilio.SignedFormAsync(request, ct);
            if (form is null)
            {
                metrics.Webhook("twilio", "refused");
                return Results.Problem("X-Twilio-Signature does not match", statusCode: StatusCodes.Status403Forbidden, title: "Callback refused");
            }
            if (!long.TryParse(request.Query["job"], out var job) || !int.TryParse(request.Query["attempt"], out var attempt))
                return Results.Problem("the callback URL lacks job and attempt", statusCode: StatusCodes.Status400BadRequest, title: "Malformed callback");
            var (result, detail) = await callback.HandleAsync(job, attempt, form, ct);
            return result == CallbackResult.BadRequest
                ? Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed callback")
                : Results.NoContent();
        }).DisableAntiforgery();
        return routes;
    }
}
