namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// Ultravox names its agents by UUID (the agent_id of POST /api/agents/{agent_id}/calls). Anything
/// else is a typo that would otherwise surface only at dial time, as one refused call per contact.
/// </summary>
public static class UltravoxAgentId
{
    public const string Example = "3f2b1c9e-8d4a-4b6f-9a2e-1c7d5e8f0a3b";

    /// <summary>The hyphenated 8-4-4-4-12 form Ultravox shows and accepts.</summary>
    public static bool IsValid(string? value) => Guid.TryParseExact(value, "D", out _);

    public static string Problem(string value) => $"'{value}' is not an Ultravox agent id: a UUID such as {Example}, as Ultravox shows it with the agent";
}
