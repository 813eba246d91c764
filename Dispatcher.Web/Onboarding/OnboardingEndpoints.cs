using System.Text.Json.Serialization;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Web.Api;

namespace Dispatcher.Web.Onboarding;

public static class OnboardingEndpoints
{
    public sealed record SignupRequest(
        [property: JsonPropertyName("user_id")] string? UserId,
        [property: JsonPropertyName("phone_number")] string? PhoneNumber,
        [property: JsonPropertyName("signup_mode")] string? SignupMode,
        [property: JsonPropertyName("metadata")] Dictionary<string, string>? Metadata);

    public static IEndpointRouteBuilder MapOnboarding(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/signups", async (SignupRequest body, Signups signups, CancellationToken ct) =>
        {
            try
            {
                var result = await signups.RequestCallAsync(new Signup(body.UserId ?? "", body.PhoneNumber ?? "", body.SignupMode, body.Metadata), ct);
                return result.Created
                    ? Results.Created($"/api/onboarding-calls/{result.JobId}", result)
                    : Results.Ok(result);
            }
            catch (ArgumentException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "Invalid signup");
            }
        }).RequireApiKey();

        routes.MapGet("/api/onboarding-calls/{id:long}", async (long id, Signups signups, CancellationToken ct) =>
            await signups.GetAsync(id, ct) is { } call ? Results.Ok(call) : Results.Problem($"no onboarding call {id}", statusCode: 404))
            .RequireApiKey();

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
