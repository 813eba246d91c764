namespace Dispatcher.Jobs.Campaigns.Ultravox;

/// <summary>
/// One outbound call of a saved agent over Telnyx. <paramref name="ApiKey"/> is the agency's key;
/// <paramref name="Metadata"/> carries batch_id and contact_id so webhooks and look-ups can find the
/// call again; <paramref name="TemplateContext"/> fills the agent's prompt variables.
/// </summary>
public sealed record StartCallRequest(
    string ApiKey,
    string AgentId,
    string To,
    string From,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyDictionary<string, object?> TemplateContext)
{
    // The key is a secret: keep it out of logs and exception messages that print the record.
    public override string ToString() =>
        $"StartCallRequest {{ AgentId = {AgentId}, To = {To}, From = {From}, Metadata = {Metadata.Count} entries }}";
}
