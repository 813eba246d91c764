using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>The TwiML Twilio fetches for an onboarding call: the script for the row's signup_mode, personalised.</summary>
public sealed partial class OnboardingScripts(NpgsqlDataSource dataSource, OnboardingOptions options)
{
    public const string HangUp = """<?xml version="1.0" encoding="UTF-8"?><Response><Say>Sorry, we could not find this call. Goodbye.</Say><Hangup/></Response>""";

    public async Task<string> TwimlAsync(long jobId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT signup_mode, metadata::text FROM outbound_call_jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return HangUp;
        return Render(reader.GetString(0), reader.GetString(1));
    }

    /// <summary>{placeholders} come from the metadata (missing ones read as empty); XML escaping is XDocument's.</summary>
    public string Render(string signupMode, string metadataJson)
    {
        var metadata = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(metadataJson) ?? [];
        var template = options.Scripts.GetValueOrDefault(signupMode) ?? options.Scripts.GetValueOrDefault("default") ?? "Hello!";
        var text = Placeholder().Replace(template, m =>
            metadata.TryGetValue(m.Groups[1].Value, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString()! : value.ToString() : "");
        var response = new XElement("Response", new XElement("Say", new XAttribute("voice", options.Voice), Regex.Replace(text, @"\s{2,}", " ").Trim()));
        if (options.VoiceAgentStreamUrl is { Length: > 0 } stream)
            response.Add(new XElement("Connect", new XElement("Stream", new XAttribute("url", stream))));
        return new XDocument(new XDeclaration("1.0", "UTF-8", null), response).Declaration + response.ToString(SaveOptions.DisableFormatting);
    }

    [GeneratedRegex(@"\{([A-Za-z0-9_]+)\}")]
    private static partial Regex Placeholder();
}
