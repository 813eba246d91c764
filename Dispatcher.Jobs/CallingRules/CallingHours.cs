using System.Text.RegularExpressions;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>
/// When calls may be placed, in the callee's local time: minutes of the day [start, end) on some
/// days of the week (bit n of <paramref name="Days"/> is <see cref="DayOfWeek"/> n). Written as
/// "Mon-Sat 09:00-20:00", "Mon-Fri,Sun 10:00-18:00", "daily 00:00-24:00".
/// </summary>
public sealed partial record CallingHours(int StartMinute, int EndMinute, int Days)
{
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// <summary>The service's default: 09:00-20:00, Monday to Saturday.</summary>
    public static readonly CallingHours Default = new(9 * 60, 20 * 60, 0b111_1110);

    /// <summary>Every minute of every day: no window at all.</summary>
    public static readonly CallingHours Always = new(0, 24 * 60, 0b111_1111);

    public bool OpenOn(DayOfWeek day) => (Days & (1 << (int)day)) != 0;

    /// <summary>These hours narrowed to those of <paramref name="outer"/> (a batch's within its agency's); null when nothing is left.</summary>
    public CallingHours? Within(CallingHours outer)
    {
        var narrowed = new CallingHours(Math.Max(StartMinute, outer.StartMinute), Math.Min(EndMinute, outer.EndMinute), Days & outer.Days);
        return narrowed.StartMinute < narrowed.EndMinute && narrowed.Days != 0 ? narrowed : null;
    }

    public static CallingHours Parse(string text) =>
        TryParse(text, out var hours, out var error) ? hours : throw new FormatException(error);

    public static bool TryParse(string? text, out CallingHours hours, out string error)
    {
        (hours, error) = (Always, "");
        var match = Pattern().Match(text ?? "");
        if (!match.Success)
        {
            error = $"'{text}' is not calling hours such as 'Mon-Sat 09:00-20:00' (days: Mon..Sun, ranges and commas, or daily; times HH:MM, end up to 24:00)";
            return false;
        }
        var days = 0;
        foreach (var part in match.Groups["days"].Value.ToLowerInvariant().Split(','))
        {
            if (part == "daily") { days = 0b111_1111; continue; }
            var ends = part.Split('-');
            var first = Array.IndexOf(DayNames, ends[0]);
            var last = Array.IndexOf(DayNames, ends[^1]);
            if (first < 0 || last < 0 || ends.Length > 2)
            {
                error = $"'{part}' is not a day or a range of days such as Mon-Fri";
                return false;
            }
            for (var d = first; ; d = (d + 1) % 7)
            {
                days |= 1 << d;
                if (d == last) break;
            }
        }
        var start = Minutes(match.Groups["start"].Value);
        var end = Minutes(match.Groups["end"].Value);
        if (start is null or >= 24 * 60 || end is null or > 24 * 60 || start >= end)
        {
            error = $"'{match.Groups["start"].Value}-{match.Groups["end"].Value}' is not a window within one day: start before end, from 00:00 up to 24:00";
            return false;
        }
        hours = new CallingHours(start.Value, end.Value, days);
        return true;
    }

    public override string ToString()
    {
        var days = Days == 0b111_1111 ? "daily" : string.Join(",", Runs().Select(r => r.First == r.Last ? Title(r.First) : $"{Title(r.First)}-{Title(r.Last)}"));
        return $"{days} {StartMinute / 60:00}:{StartMinute % 60:00}-{EndMinute / 60:00}:{EndMinute % 60:00}";
    }

    // Runs of consecutive days, Monday first (as people write them).
    private IEnumerable<(int First, int Last)> Runs()
    {
        int? first = null;
        var previous = 0;
        foreach (var d in new[] { 1, 2, 3, 4, 5, 6, 0 })
        {
            if (!OpenOn((DayOfWeek)d)) { if (first is { } f) yield return (f, previous); first = null; continue; }
            first ??= d;
            previous = d;
        }
        if (first is { } last) yield return (last, previous);
    }

    private static string Title(int day) => char.ToUpperInvariant(DayNames[day][0]) + DayNames[day][1..];

    private static int? Minutes(string hhmm) =>
        int.Parse(hhmm[..2]) is var h && int.Parse(hhmm[3..]) is var m && m < 60 ? h * 60 + m : null;

    [GeneratedRegex(@"^\s*(?<days>(?:[A-Za-z]{3,5}(?:-[A-Za-z]{3})?)(?:,[A-Za-z]{3,5}(?:-[A-Za-z]{3})?)*)\s+(?<start>\d{2}:\d{2})\s*-\s*(?<end>\d{2}:\d{2})\s*$")]
    private static partial Regex Pattern();
}
