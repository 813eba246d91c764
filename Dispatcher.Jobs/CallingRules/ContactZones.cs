using System.Collections.Concurrent;
using NodaTime;
using NodaTime.TimeZones;
using PhoneNumbers;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>
/// The time zones a contact's calling window is judged in: its explicit IANA time_zone, else the
/// zones libphonenumber maps its number to. A number libphonenumber cannot place (an unassigned
/// range) is judged in every zone of its country, the cautious choice.
/// </summary>
public static class ContactZones
{
    private static readonly PhoneNumberUtil Numbers = PhoneNumberUtil.GetInstance();
    private static readonly PhoneNumberToTimeZonesMapper Mapper = PhoneNumberToTimeZonesMapper.GetInstance();
    private static readonly ConcurrentDictionary<string, string[]> CountryZones = new();

    /// <summary>Whether <paramref name="id"/> names an IANA zone (e.g. America/New_York).</summary>
    public static bool IsZone(string id) => DateTimeZoneProviders.Tzdb.GetZoneOrNull(id) is not null;

    /// <summary>The zones, or null when neither the number nor its country tells any.</summary>
    public static string[]? Of(string phoneNumber, string? explicitZone)
    {
        if (explicitZone is { Length: > 0 }) return IsZone(explicitZone) ? [explicitZone] : null;
        PhoneNumbers.PhoneNumber number;
        try { number = Numbers.Parse(phoneNumber, null); }
        catch (NumberParseException) { return null; }
        var zones = Mapper.GetTimeZonesForNumber(number).Where(IsZone).ToArray();
        if (zones.Length > 0) return zones;
        var region = Numbers.GetRegionCodeForCountryCode(number.CountryCode);
        var country = CountryZones.GetOrAdd(region, r =>
            TzdbDateTimeZoneSource.Default.ZoneLocations?.Where(l => l.CountryCode == r).Select(l => l.ZoneId).Where(IsZone).Order().ToArray() ?? []);
        return country.Length > 0 ? country : null;
    }
}
