using Dispatcher.Jobs.Campaigns;

namespace Dispatcher.Web.Campaigns;

public static class CampaignEndpoints
{
    /// <summary>POST /webhooks/ultravox: call.ended and friends, signature-checked.</summary>
    public static IEndpointRouteBuilder MapCampaigns(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/webhooks/ultravox", async (HttpRequest request, UltravoxWebhook webhook, CancellationToken ct) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, ct);
            var (result, detail) = await webhook.HandleAsync(buffer.ToArray(),
                request.Headers["X-Ultravox-Webhook-Timestamp"], request.Headers["X-Ultravox-Webhook-Signature"], ct);
            return result switch
            {
                WebhookResult.Unauthorized => Results.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: "Webhook refused"),
                WebhookResult.BadRequest => Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed webhook"),
                _ => Results.NoContent(),
            };
        }).DisableAntiforgery();
        return routes;
    }
}
