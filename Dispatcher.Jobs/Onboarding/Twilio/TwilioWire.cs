using System.Globalization;
using System.Text.Json.Serialization;

namespace Dispatcher.Jobs.Onboarding.Twilio;

// The JSON shapes Twilio answers with (snake_case, see api.v2010.account.call and ListCallResponse
// in the 2010-04-01 OpenAPI spec). Kept apart from the public records so the API's shape can change here alone.

internal sealed record CallJson(
    [property: JsonPropertyName("sid")] string? Sid,
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("to")] string? To,
    [property: JsonPropertyName("start_time")] string? StartTime,
    [property: JsonPropertyName("date_created")] string? DateCreated)
{
    public TwilioCall? ToCall() => string.IsNullOrEmpty(Sid) || string.IsNullOrEmpty(Status)
        ? null
        : new TwilioCall(Sid, Status, To, TwilioDates.Parse(StartTime));
}

internal sealed record CallPageJson(
    [property: JsonPropertyName("calls")] List<CallJson?>? Calls,
    [property: JsonPropertyName("next_page_uri")] string? NextPageUri);

/// <summary>Twilio's error body: {code, message, more_info, status}.</summary>
internal sealed record ErrorJson(
    [property: JsonPropertyName("code")] int? Code,
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("more_info")] string? MoreInfo,
    [property: JsonPropertyName("status")] int? Status);

internal static class TwilioDates
{
    // RFC 2822 as Twilio writes it ("Tue, 31 Aug 2010 20:36:29 +0000"); RFC 1123 with GMT as well.
    private static readonly string[] Formats = ["ddd, dd MMM yyyy HH:mm:ss zzz", "ddd, d MMM yyyy HH:mm:ss zzz", "r"];

    // An unreadable date is treated as absent rather than failing the whole call.
    public static DateTimeOffset? Parse(string? text) =>
        !string.IsNullOrWhiteSpace(text)
        && DateTimeOffset.TryParseExact(text.Trim(), Formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;
}
