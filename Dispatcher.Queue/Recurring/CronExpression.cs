using System.Globalization;
using System.Numerics;

namespace Dispatcher.Queue.Recurring;

/// <summary>
/// A cron schedule of 5 fields (minute hour day-of-month month day-of-week) or 6 fields (second first).
/// Day-of-month and day-of-week combine as in Vixie cron. Daylight-saving transitions are handled as in
/// Cronos/Hangfire: times skipped by a spring-forward gap fire once, at the end of the gap; times repeated by a
/// fall-back overlap fire in both passes only for interval expressions (a <c>*</c> or step in the second, minute
/// or hour field), otherwise only in the first pass.
/// </summary>
public sealed class CronExpression
{
    // Reaches the next February 29 from any date, including across 2100, which is not a leap year.
    private const int SearchYears = 8;

    // Larger than any UTC offset (-12:00..+14:00), so the UTC window around a local time contains its transition.
    private static readonly TimeSpan TransitionSearchRadius = TimeSpan.FromHours(15);

    private static readonly Field[] Fields =
    [
        new("second", 0, 59),
        new("minute", 0, 59),
        new("hour", 0, 23),
        new("day-of-month", 1, 31, AllowsQuestionMark: true),
        new("month", 1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
        new("day-of-week", 0, 7, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], AllowsQuestionMark: true),
    ];

    private const int SecondIndex = 0, MinuteIndex = 1, HourIndex = 2, DayOfMonthIndex = 3, MonthIndex = 4, DayOfWeekIndex = 5;

    private static readonly Dictionary<string, string> Macros = new(StringComparer.OrdinalIgnoreCase)
    {
        ["@yearly"] = "0 0 1 1 *",
        ["@annually"] = "0 0 1 1 *",
        ["@monthly"] = "0 0 1 * *",
        ["@weekly"] = "0 0 * * 0",
        ["@daily"] = "0 0 * * *",
        ["@midnight"] = "0 0 * * *",
        ["@hourly"] = "0 * * * *",
    };

    // Bit n is set when value n is allowed.
    private readonly ulong _seconds, _minutes, _hours, _daysOfMonth, _months, _daysOfWeek;
    private readonly bool _dayOfMonthStar, _dayOfWeekStar;
    private readonly bool _isInterval;

    private CronExpression(string expression, bool hasSeconds, string[] fieldTexts, ulong[] masks)
    {
        Expression = expression;
        HasSeconds = hasSeconds;
        (_seconds, _minutes, _hours) = (masks[SecondIndex], masks[MinuteIndex], masks[HourIndex]);
        (_daysOfMonth, _months, _daysOfWeek) = (masks[DayOfMonthIndex], masks[MonthIndex], masks[DayOfWeekIndex]);

        // Vixie cron treats a day field as unrestricted when it starts with '*', so "*/2" counts as unrestricted too.
        _dayOfMonthStar = fieldTexts[DayOfMonthIndex][0] is '*' or '?';
        _dayOfWeekStar = fieldTexts[DayOfWeekIndex][0] is '*' or '?';

        _isInterval = fieldTexts[..(HourIndex + 1)].Any(text => text.Contains('*') || text.Contains('/'));
    }

    /// <summary>True for 6-field expressions, whose first field is the second.</summary>
    public bool HasSeconds { get; }

    /// <summary>The original text, trimmed.</summary>
    public string Expression { get; }

    /// <exception cref="FormatException">The expression is malformed; the message names the bad field and value.</exception>
    public static CronExpression Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return TryParse(expression, out var cron, out var error) ? cron! : throw new FormatException(error);
    }

    public static bool TryParse(string expression, out CronExpression? cron, out string? error)
    {
        cron = ParseCore(expression, out error);
        return cron is not null;
    }

    /// <summary>
    /// The first occurrence strictly after <paramref name="after"/>, with the fields matched against wall-clock time in
    /// <paramref name="zone"/>, returned in UTC; null if there is none within the next several years.
    /// </summary>
    public DateTimeOffset? GetNextOccurrence(DateTimeOffset after, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);

        var local = TimeZoneInfo.ConvertTime(after, zone);
        var limitYear = Math.Min(local.Year + SearchYears, DateTime.MaxValue.Year);
        var start = local.DateTime;
        var inclusive = false;

        if (zone.IsAmbiguousTime(local))
        {
            // `after` is inside a fall-back overlap, whose local times occur first with the earlier (daylight)
            // offset and then again with the later one.
            var offsets = zone.GetAmbiguousTimeOffsets(local);
            var (earlyOffset, lateOffset) = (offsets.Max(), offsets.Min());
            var length = earlyOffset - lateOffset;
            var transition = FindTransition(zone, after.UtcDateTime - length, after.UtcDateTime + length);
            var overlapStart = new DateTime(transition.Ticks + lateOffset.Ticks);
            var overlapEnd = new DateTime(transition.Ticks + earlyOffset.Ticks);

            if (local.Offset == earlyOffset)
            {
                var early = FindNextLocal(start, inclusive: false, limitYear);
                if (early < overlapEnd)
                    return ToUtc(early.Value, earlyOffset);
                (start, inclusive) = (overlapStart, true);
            }

            // Fixed times already fired in the first pass; only intervals repeat in the second.
            if (_isInterval)
            {
                var late = FindNextLocal(start, inclusive, limitYear);
                if (late < overlapEnd)
                    return ToUtc(late.Value, lateOffset);
            }

            (start, inclusive) = (overlapEnd, true);
        }

        var next = FindNextLocal(start, inclusive, limitYear);
        return next is null ? null : ResolveLocal(next.Value, zone);
    }

    /// <summary>All occurrences in (<paramref name="afterExclusive"/>, <paramref name="toInclusive"/>], in order, in UTC.</summary>
    public IEnumerable<DateTimeOffset> GetOccurrences(DateTimeOffset afterExclusive, DateTimeOffset toInclusive, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return Enumerate(afterExclusive, toInclusive, zone);
    }

    public override string ToString() => Expression;

    private IEnumerable<DateTimeOffset> Enumerate(DateTimeOffset afterExclusive, DateTimeOffset toInclusive, TimeZoneInfo zone)
    {
        for (var next = GetNextOccurrence(afterExclusive, zone); next <= toInclusive; next = GetNextOccurrence(next.Value, zone))
            yield return next.Value;
    }

    private static DateTimeOffset ToUtc(DateTime local, TimeSpan offset) => new(local.Ticks - offset.Ticks, TimeSpan.Zero);

    private static DateTimeOffset ResolveLocal(DateTime local, TimeZoneInfo zone)
    {
        if (zone.IsInvalidTime(local))
        {
            // Skipped by a spring-forward gap: fire at the first instant after the gap.
            var guess = new DateTime(local.Ticks, DateTimeKind.Utc);
            return new DateTimeOffset(FindTransition(zone, guess - TransitionSearchRadius, guess + TransitionSearchRadius));
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return ToUtc(local, offset);
    }

    // The earliest UTC instant in (lowUtc, highUtc] whose offset differs from lowUtc's; the window must hold exactly one transition.
    private static DateTime FindTransition(TimeZoneInfo zone, DateTime lowUtc, DateTime highUtc)
    {
        var before = zone.GetUtcOffset(lowUtc);
        long low = lowUtc.Ticks, high = highUtc.Ticks;
        while (high - low > 1)
        {
            var middle = low + (high - low) / 2;
            if (zone.GetUtcOffset(new DateTime(middle, DateTimeKind.Utc)) == before)
                low = middle;
            else
                high = middle;
        }

        return new DateTime(high, DateTimeKind.Utc);
    }

    // The first wall-clock time at or after `start` (strictly after unless `inclusive`) that matches every field. Jumps
    // field by field, coarsest first: an overflowing value (minute 60, day 32, month 13) carries into the next
    // coarser field on the following pass because no mask has that bit set.
    private DateTime? FindNextLocal(DateTime start, bool inclusive, int limitYear)
    {
        var candidate = start.AddTicks(-(start.Ticks % TimeSpan.TicksPerSecond));
        if (candidate < start || !inclusive)
            candidate = candidate.AddSeconds(1);

        int year = candidate.Year, month = candidate.Month, day = candidate.Day;
        int hour = candidate.Hour, minute = candidate.Minute, second = candidate.Second;

        while (year <= limitYear)
        {
            var nextMonth = NextAllowed(_months, month);
            if (nextMonth < 0)
            {
                (year, month, day, hour, minute, second) = (year + 1, 1, 1, 0, 0, 0);
                continue;
            }
            if (nextMonth != month)
                (month, day, hour, minute, second) = (nextMonth, 1, 0, 0, 0);

            var nextDay = NextAllowedDay(year, month, day);
            if (nextDay < 0)
            {
                (month, day, hour, minute, second) = (month + 1, 1, 0, 0, 0);
                continue;
            }
            if (nextDay != day)
                (day, hour, minute, second) = (nextDay, 0, 0, 0);

            var nextHour = NextAllowed(_hours, hour);
            if (nextHour < 0)
            {
                (day, hour, minute, second) = (day + 1, 0, 0, 0);
                continue;
            }
            if (nextHour != hour)
                (hour, minute, second) = (nextHour, 0, 0);

            var nextMinute = NextAllowed(_minutes, minute);
            if (nextMinute < 0)
            {
                (hour, minute, second) = (hour + 1, 0, 0);
                continue;
            }
            if (nextMinute != minute)
                (minute, second) = (nextMinute, 0);

            var nextSecond = NextAllowed(_seconds, second);
            if (nextSecond < 0)
            {
                (minute, second) = (minute + 1, 0);
                continue;
            }

            return new DateTime(year, month, day, hour, minute, nextSecond);
        }

        return null;
    }

    private int NextAllowedDay(int year, int month, int fromDay)
    {
        var daysInMonth = DateTime.DaysInMonth(year, month);
        if (fromDay > daysInMonth)
            return -1;

        var dayOfWeek = (int)new DateTime(year, month, fromDay).DayOfWeek;
        for (var day = fromDay; day <= daysInMonth; day++, dayOfWeek = (dayOfWeek + 1) % 7)
        {
            var dayOfMonthMatches = (_daysOfMonth & (1UL << day)) != 0;
            var dayOfWeekMatches = (_daysOfWeek & (1UL << dayOfWeek)) != 0;
            var matches = _dayOfMonthStar || _dayOfWeekStar
                ? dayOfMonthMatches && dayOfWeekMatches
                : dayOfMonthMatches || dayOfWeekMatches;
            if (matches)
                return day;
        }

        return -1;
    }

    // Smallest allowed value >= from, or -1. `from` never exceeds 60, so the shift stays below 64.
    private static int NextAllowed(ulong mask, int from)
    {
        var remaining = mask & (ulong.MaxValue << from);
        return remaining == 0 ? -1 : BitOperations.TrailingZeroCount(remaining);
    }

    private static CronExpression? ParseCore(string? text, out string? error)
    {
        var expression = text?.Trim() ?? "";
        if (expression.Length == 0)
        {
            error = "cron expression is empty";
            return null;
        }

        var fieldsText = expression;
        if (expression.StartsWith('@') && !Macros.TryGetValue(expression, out fieldsText))
        {
            error = Describe(expression, $"unknown macro '{expression}'; supported macros are {string.Join(", ", Macros.Keys)}");
            return null;
        }

        var fieldTexts = fieldsText.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fieldTexts.Length is not (5 or 6))
        {
            error = Describe(expression,
                $"expected 5 fields (minute hour day-of-month month day-of-week) or 6 fields (second first), found {fieldTexts.Length}");
            return null;
        }

        var hasSeconds = fieldTexts.Length == 6;
        if (!hasSeconds)
            fieldTexts = ["0", .. fieldTexts];

        var masks = new ulong[Fields.Length];
        for (var i = 0; i < Fields.Length; i++)
        {
            var detail = ParseField(fieldTexts[i], Fields[i], out masks[i]);
            if (detail is not null)
            {
                error = Describe(expression, detail);
                return null;
            }
        }

        // Day-of-week 7 is another name for Sunday (0).
        masks[DayOfWeekIndex] |= (masks[DayOfWeekIndex] >> 7) & 1;

        error = null;
        return new CronExpression(expression, hasSeconds, fieldTexts, masks);
    }

    private static string Describe(string expression, string detail) => $"cron '{expression}': {detail}";

    private static string? ParseField(string text, Field field, out ulong mask)
    {
        mask = 0;
        foreach (var item in text.Split(','))
        {
            if (item.Length == 0)
                return $"{field.Name} field '{text}' has an empty list item";

            var detail = ParseItem(item, field, ref mask);
            if (detail is not null)
                return detail;
        }

        return null;
    }

    private static string? ParseItem(string item, Field field, ref ulong mask)
    {
        var slash = item.IndexOf('/');
        var range = slash < 0 ? item : item[..slash];

        var step = 1;
        if (slash >= 0)
        {
            var stepText = item[(slash + 1)..];
            if (!TryParseNumber(stepText, out step))
                return $"{field.Name} step '{stepText}' in '{item}' is not a number";
            if (step < 1 || step > field.Max)
                return $"{field.Name} step {stepText} in '{item}' is out of range 1-{field.Max}";
        }

        int first, last;
        if (range is "*" or "?")
        {
            if (range == "?" && !field.AllowsQuestionMark)
                return $"{field.Name} does not allow '?'; only day-of-month and day-of-week do";
            (first, last) = (field.Min, field.Max);
        }
        else
        {
            var dash = range.IndexOf('-');
            var detail = ParseValue(dash < 0 ? range : range[..dash], item, field, out first);
            if (detail is not null)
                return detail;

            if (dash < 0)
            {
                // "a/n" steps from a up to the field's maximum.
                last = slash < 0 ? first : field.Max;
            }
            else
            {
                detail = ParseValue(range[(dash + 1)..], item, field, out last);
                if (detail is not null)
                    return detail;
                if (first > last)
                    return $"{field.Name} range {range} is reversed; the start must not be greater than the end";
            }
        }

        for (var value = first; value <= last; value += step)
            mask |= 1UL << value;
        return null;
    }

    private static string? ParseValue(string text, string item, Field field, out int value)
    {
        if (text.Length == 0)
        {
            value = 0;
            return $"{field.Name} item '{item}' is missing a value";
        }

        if (TryParseNumber(text, out value))
        {
            return value < field.Min || value > field.Max
                ? $"{field.Name} value {text} is out of range {field.Min}-{field.Max}"
                : null;
        }

        var nameIndex = field.Names is null ? -1 : Array.FindIndex(field.Names, name => name.Equals(text, StringComparison.OrdinalIgnoreCase));
        if (nameIndex < 0)
        {
            var expected = field.Names is null ? "a number" : $"a number or a name {field.Names[0]}-{field.Names[^1]}";
            return $"{field.Name} value '{text}' is not {expected}";
        }

        // Names are listed from the field's minimum: JAN is 1, SUN is 0.
        value = field.Min + nameIndex;
        return null;
    }

    // ASCII digits only, no sign; numbers too long for int saturate so that they fail the range check.
    private static bool TryParseNumber(string text, out int value)
    {
        value = 0;
        if (text.Length == 0 || !text.All(char.IsAsciiDigit))
            return false;

        value = text.Length > 9 ? int.MaxValue : int.Parse(text, CultureInfo.InvariantCulture);
        return true;
    }

    private sealed record Field(string Name, int Min, int Max, string[]? Names = null, bool AllowsQuestionMark = false);
}
