using System.Text.Json;

namespace Dispatcher.Jobs.Campaigns.Ultravox;

// The JSON shapes exchanged with Ultravox (camelCase, see ultravox.v1.StartAgentCallRequest and Call
// in the OpenAPI spec). Kept apart from the public records so the API's shape can change here alone.

internal sealed record StartAgentCallBody(
    CallMediumBody Medium,
    FirstSpeakerSettingsBody FirstSpeakerSettings,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyDictionary<string, object?> TemplateContext);

internal sealed record CallMediumBody(TelnyxMediumBody Telnyx);

internal sealed record TelnyxMediumBody(TelnyxOutgoingBody Outgoing);

internal sealed record TelnyxOutgoingBody(string To, string From);

// The agent speaks first: an outbound call's callee picks up and waits to hear who is calling.
internal sealed record FirstSpeakerSettingsBody(AgentGreetingBody Agent);

internal sealed record AgentGreetingBody;

internal sealed record CallJson(
    string? CallId,
    DateTimeOffset? Created,
    DateTimeOffset? Joined,
    DateTimeOffset? Ended,
    string? EndReason,
    Dictionary<string, JsonElement>? Metadata)
{
    public UltravoxCall? ToCall() => string.IsNullOrEmpty(CallId)
        ? null
        : new UltravoxCall(CallId, Created, Joined, Ended, EndReason, ReadMetadata(Metadata));

    // Values are documented as strings; anything else is kept as its JSON text rather than failing the read.
    private static IReadOnlyDictionary<string, string> ReadMetadata(Dictionary<string, JsonElement>? metadata) =>
        metadata is null
            ? new Dictionary<string, string>()
            : metadata.ToDictionary(
                entry => entry.Key,
                entry => entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText());
}

internal sealed record CallPageJson(string? Next, List<CallJson?>? Results);
