using System.Text.Json;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Jobs.Campaigns;

public enum WebhookResult { Applied, Ignored, Unauthorized, BadRequest }

/// <summary>
/// Ultravox's webhooks: signature and age checked, then call.ended finishes the contact's
/// attempt. Duplicates, stale attempts, unknown calls and other events are acknowledged and
/// change nothing, so Ultravox stops retrying them.
/// </summary>
public sealed class UltravoxWebhook(ContactLedger ledger, CampaignOptions options, DialMetrics metrics, TimeProvider clock, ILogger<UltravoxWebhook> logger)
{
    public async Task<(WebhookResult Result, string Detail)> HandleAsync(byte[] body, string? timestamp, string? signature, CancellationToken ct)
    {
        var check = UltravoxSignature.Verify(body, timestamp, signature, options.WebhookSecrets, clock.GetUtcNow(), options.WebhookMaxAge);
        if (check != SignatureCheck.Valid)
        {
            metrics.Webhook("ultravox", "refused");
            logger.LogWarning("Refused an Ultravox webhook: signature {Check}", check);
            return (WebhookResult.Unauthorized, $"signature check failed: {check.ToString().ToLowerInvariant()}");
        }

        UltravoxEvent? delivery;
        try { delivery = JsonSerializer.Deserialize<UltravoxEvent>(body, UltravoxEvent.Json); }
        catch (JsonException ex) { return (WebhookResult.BadRequest, $"body is not an Ultravox event: {ex.Message}"); }
        if (delivery?.Event is null || delivery.Call?.CallId is null) return (WebhookResult.BadRequest, "body needs an event and a call with a callId");
        if (delivery.Event != "call.ended")
        {
            metrics.Webhook("ultravox", "ignored");
            return (WebhookResult.Ignored, $"event {delivery.Event} needs no action");
        }

        var metadata = delivery.Call.Metadata ?? new Dictionary<string, string>();
        if (!metadata.TryGetValue("contact_id", out var contactText) || !long.TryParse(contactText, out var contactId)
            || !metadata.TryGetValue("attempt", out var attemptText) || !int.TryParse(attemptText, out var attempt))
        {
            metrics.Webhook("ultravox", "ignored");
            logger.LogInformation("call.ended for call {CallId} without our metadata: not one of ours", delivery.Call.CallId);
            return (WebhookResult.Ignored, "not a call of this dispatcher");
        }

        var call = new UltravoxCall(delivery.Call.CallId, delivery.Call.Created, delivery.Call.Joined, delivery.Call.Ended ?? clock.GetUtcNow(),
            delivery.Call.EndReason, metadata);
        if (await ledger.CallEndedAsync(contactId, attempt, call, ct))
        {
            metrics.Webhook("ultravox", "applied");
            return (WebhookResult.Applied, "call ended");
        }
        metrics.Webhook("ultravox", "duplicate");
        logger.LogInformation("call.ended for call {CallId} changed nothing (duplicate, stale attempt or unknown contact)", delivery.Call.CallId);
        return (WebhookResult.Ignored, "already settled");
    }

    private sealed record UltravoxEvent(string? Event, EventCall? Call)
    {
        public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    }

    private sealed record EventCall(string? CallId, DateTimeOffset? Created, DateTimeOffset? Joined, DateTimeOffset? Ended, string? EndReason,
        Dictionary<string, string>? Metadata);
}
