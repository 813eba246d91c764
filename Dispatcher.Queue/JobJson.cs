using System.Text.Json;

namespace Dispatcher.Queue;

/// <summary>How job args are stored: web conventions (camelCase), the same for every kind.</summary>
internal static class JobJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}
