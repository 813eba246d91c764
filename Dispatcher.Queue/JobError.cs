using System.Text.Json.Serialization;

namespace Dispatcher.Queue;

/// <summary>One failed attempt, as kept in the job's errors.</summary>
public sealed record JobError(
    [property: JsonPropertyName("attempt")] int Attempt,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("stack")] string? Stack);
