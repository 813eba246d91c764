using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Twilio.TwiML;
using Twilio.TwiML.Voice;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>The TwiML Twilio fetches for an onboarding call: the script for the row's signup_mode, personalised.</summary>
public sealed partial class OnboardingScripts(NpgsqlDataSource dataSource, OnboardingOptions options)
{
    /// <summary>For a call whose row is gone.</summary>
    public static readonly string HangUp = new VoiceResponse().Say("Sorry, we could not find this call. Goodbye.").Hangup().ToString();

    // A breath between the script and the voice agent, so the agent does not talk over its last word.
    private const int PauseBeforeAgentSeconds = 1;

    public async Task<string> TwimlAsync(long jobId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT signup_mode, metadata::text FROM outbound_call_jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return HangUp;
        return Render(reader.GetString(0), reader.GetString(1));
    }

    /// <summary>{placeholders} come from the metadata (missing ones read as empty); XML escaping is the SDK's.</summary>
    public string Render(string signupMode, string metadataJson)
    {
        var metadata = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(metadataJson) ?? [];
        var template = options.Scripts.GetValueOrDefault(signupMode) ?? options.Scripts.GetValueOrDefault("default") ?? "Hello!";
        var text = Placeholder().Replace(template, m =>
            metadata.TryGetValue(m.Groups[1].Value, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString()! : value.ToString() : "");
        var response = new VoiceResponse().Say(Regex.Replace(text, @"\s{2,}", " ").Trim(), voice: options.Voice);
        if (options.VoiceAgentStreamUrl is { Length: > 0 } stream)
            response.Pause(length: PauseBeforeAgentSeconds).Append(new Connect().Stream(url: stream));
        return response.ToString(System.Xml.Linq.SaveOptions.DisableFormatting);
    }

    [GeneratedRegex(@"\{([A-Za-z0-9_]+)\}")]
    private static partial Regex Placeholder();
}
