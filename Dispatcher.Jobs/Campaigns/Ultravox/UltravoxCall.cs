namespace Dispatcher.Jobs.Campaigns.Ultravox;

/// <summary>The parts of an Ultravox call the dispatcher reads (the API's <c>Call</c> object).</summary>
public sealed record UltravoxCall(
    string CallId,
    DateTimeOffset? Created,
    DateTimeOffset? Joined,
    DateTimeOffset? Ended,
    string? EndReason,
    IReadOnlyDictionary<string, string> Metadata);
