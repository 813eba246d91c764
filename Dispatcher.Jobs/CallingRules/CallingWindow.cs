using NodaTime;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>A stretch of time, in UTC, when a contact may be called.</summary>
public sealed record OpenWindow(DateTimeOffset OpensAt, DateTimeOffset ClosesAt)
{
    /// <summary>For contacts whose window is not judged (an invalid number the dial refuses anyway).</summary>
    public static readonly OpenWindow Unbounded = new(DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
}

/// <summary>
/// The next window in which a contact may be called: the calling hours in each of its zones,
/// as UTC intervals (daylight-saving changes included, by the zone rules), intersected: the
/// narrowest common window. Looks a week and a day ahead, so a day with no common hour (or a
/// closed day) waits for the next one.
/// </summary>
public static class CallingWindow
{
    private const int DaysAhead = 8;

    /// <summary>The window open now or opening next; null when the zones share no hour in the coming week.</summary>
    public static OpenWindow? Next(CallingHours hours, IReadOnlyList<string> zones, DateTimeOffset now)
    {
        var at = Instant.FromDateTimeOffset(now);
        List<(Instant Opens, Instant Closes)>? common = null;
        foreach (var id in zones)
        {
            var intervals = Intervals(hours, DateTimeZoneProviders.Tzdb[id], at);
            common = common is null ? intervals : Intersect(common, intervals);
        }
        foreach (var (opens, closes) in common ?? [])
            if (closes > at) return new OpenWindow(opens.ToDateTimeOffset(), closes.ToDateTimeOffset());
        return null;
    }

    // The zone's open hours from yesterday to a week ahead (local dates), adjacent ones merged.
    private static List<(Instant, Instant)> Intervals(CallingHours hours, DateTimeZone zone, Instant now)
    {
        var today = now.InZone(zone).Date;
        var list = new List<(Instant Opens, Instant Closes)>();
        for (var date = today.PlusDays(-1); date <= today.PlusDays(DaysAhead); date = date.PlusDays(1))
        {
            if (!hours.OpenOn(BclDay(date.DayOfWeek))) continue;
            // Lenient: a local time skipped by a daylight-saving jump maps just after it.
            var opens = date.AtMidnight().PlusMinutes(hours.StartMinute).InZoneLeniently(zone).ToInstant();
            var closes = date.AtMidnight().PlusMinutes(hours.EndMinute).InZoneLeniently(zone).ToInstant();
            if (list.Count > 0 && list[^1].Closes >= opens) list[^1] = (list[^1].Opens, closes);
            else list.Add((opens, closes));
        }
        return list;
    }

    private static List<(Instant, Instant)> Intersect(List<(Instant Opens, Instant Closes)> a, List<(Instant Opens, Instant Closes)> b)
    {
        var result = new List<(Instant, Instant)>();
        int i = 0, j = 0;
        while (i < a.Count && j < b.Count)
        {
            var opens = Instant.Max(a[i].Opens, b[j].Opens);
            var closes = Instant.Min(a[i].Closes, b[j].Closes);
            if (opens < closes) result.Add((opens, closes));
            if (a[i].Closes < b[j].Closes) i++; else j++;
        }
        return result;
    }

    private static DayOfWeek BclDay(IsoDayOfWeek day) => (DayOfWeek)((int)day % 7);
}
