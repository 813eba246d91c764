using System.Globalization;
using Dispatcher.Queue.Recurring;

namespace Dispatcher.Tests.Queue.Recurring;

public class CronExpressionTests
{
    private const string Format = "yyyy-MM-dd HH:mm:ss zzz";

    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeZoneInfo Kolkata = TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata");

    private static DateTimeOffset Instant(string text) => DateTimeOffset.ParseExact(text, Format, CultureInfo.InvariantCulture);

    private static string InZone(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString(Format, CultureInfo.InvariantCulture);

    // Results are shown as wall-clock time with offset in `zone`, so DST expectations read naturally.
    private static string? Next(string expression, string after, TimeZoneInfo? zone = null)
    {
        zone ??= Utc;
        var next = CronExpression.Parse(expression).GetNextOccurrence(Instant(after), zone);
        return next is null ? null : InZone(next.Value, zone);
    }

    private static string[] Occurrences(string expression, string afterExclusive, string toInclusive, TimeZoneInfo? zone = null)
    {
        zone ??= Utc;
        return CronExpression.Parse(expression)
            .GetOccurrences(Instant(afterExclusive), Instant(toInclusive), zone)
            .Select(occurrence => InZone(occurrence, zone))
            .ToArray();
    }

    // ---- Parsing and basic properties ----

    [Fact]
    public void Expression_is_the_trimmed_original_text_and_ToString_returns_it()
    {
        var cron = CronExpression.Parse("  0 \t 12   * * *  ");

        Assert.Equal("0 \t 12   * * *", cron.Expression);
        Assert.Equal("0 \t 12   * * *", cron.ToString());
    }

    [Fact]
    public void Fields_may_be_separated_by_any_amount_of_whitespace()
    {
        Assert.Equal("2024-01-01 12:00:00 +00:00", Next("  0 \t 12   * * *  ", "2024-01-01 00:00:00 +00:00"));
    }

    [Fact]
    public void Five_field_expression_has_no_seconds()
    {
        Assert.False(CronExpression.Parse("* * * * *").HasSeconds);
    }

    [Fact]
    public void Six_field_expression_has_seconds()
    {
        Assert.True(CronExpression.Parse("* * * * * *").HasSeconds);
    }

    [Fact]
    public void Five_field_expression_fires_at_second_zero_of_the_next_minute()
    {
        Assert.Equal("2024-01-01 10:01:00 +00:00", Next("* * * * *", "2024-01-01 10:00:30 +00:00"));
    }

    [Fact]
    public void Six_field_expression_treats_the_first_field_as_seconds()
    {
        Assert.Equal(
            ["2024-01-01 10:00:15 +00:00", "2024-01-01 10:00:30 +00:00", "2024-01-01 10:00:45 +00:00", "2024-01-01 10:01:00 +00:00"],
            Occurrences("*/15 * * * * *", "2024-01-01 10:00:00 +00:00", "2024-01-01 10:01:00 +00:00"));
    }

    [Fact]
    public void Six_field_expression_with_a_fixed_second_fires_once_a_minute_at_that_second()
    {
        Assert.Equal(
            ["2024-01-01 10:00:30 +00:00", "2024-01-01 10:01:30 +00:00"],
            Occurrences("30 * * * * *", "2024-01-01 10:00:00 +00:00", "2024-01-01 10:02:00 +00:00"));
    }

    // ---- Field syntax ----

    [Fact]
    public void Single_value_matches_only_that_value()
    {
        Assert.Equal("2024-01-01 11:05:00 +00:00", Next("5 * * * *", "2024-01-01 10:10:00 +00:00"));
    }

    [Fact]
    public void Range_matches_every_value_from_start_to_end_inclusive()
    {
        Assert.Equal(
            ["2024-01-01 09:00:00 +00:00", "2024-01-01 10:00:00 +00:00", "2024-01-01 11:00:00 +00:00"],
            Occurrences("0 9-11 * * *", "2024-01-01 00:00:00 +00:00", "2024-01-01 23:59:59 +00:00"));
    }

    [Fact]
    public void Star_with_step_matches_every_nth_value_from_the_field_minimum()
    {
        Assert.Equal(
            ["2024-01-01 10:00:00 +00:00", "2024-01-01 10:20:00 +00:00", "2024-01-01 10:40:00 +00:00"],
            Occurrences("*/20 * * * *", "2024-01-01 09:59:59 +00:00", "2024-01-01 10:59:59 +00:00"));
    }

    [Fact]
    public void Range_with_step_matches_every_nth_value_within_the_range()
    {
        Assert.Equal(
            ["2024-01-01 10:10:00 +00:00", "2024-01-01 10:20:00 +00:00", "2024-01-01 10:30:00 +00:00"],
            Occurrences("10-30/10 * * * *", "2024-01-01 10:00:00 +00:00", "2024-01-01 10:59:59 +00:00"));
    }

    [Fact]
    public void Start_with_step_matches_every_nth_value_up_to_the_field_maximum()
    {
        Assert.Equal(
            ["2024-01-01 10:45:00 +00:00", "2024-01-01 10:50:00 +00:00", "2024-01-01 10:55:00 +00:00"],
            Occurrences("45/5 * * * *", "2024-01-01 10:00:00 +00:00", "2024-01-01 10:59:59 +00:00"));
    }

    [Fact]
    public void List_combines_values_ranges_and_stepped_ranges()
    {
        Assert.Equal(
            ["2024-01-01 10:00:00 +00:00", "2024-01-01 10:15:00 +00:00", "2024-01-01 10:40:00 +00:00",
             "2024-01-01 10:45:00 +00:00", "2024-01-01 10:50:00 +00:00"],
            Occurrences("0,15,40-50/5 * * * *", "2024-01-01 09:59:59 +00:00", "2024-01-01 10:59:59 +00:00"));
    }

    [Fact]
    public void Month_names_are_case_insensitive()
    {
        Assert.Equal(
            ["2024-01-01 00:00:00 +00:00", "2024-07-01 00:00:00 +00:00"],
            Occurrences("0 0 1 JAN,jul *", "2023-12-31 00:00:00 +00:00", "2024-12-31 00:00:00 +00:00"));
    }

    [Fact]
    public void Month_names_can_form_a_range()
    {
        Assert.Equal(
            ["2024-03-01 00:00:00 +00:00", "2024-04-01 00:00:00 +00:00", "2024-05-01 00:00:00 +00:00"],
            Occurrences("0 0 1 mar-MAY *", "2024-01-01 00:00:00 +00:00", "2024-12-31 00:00:00 +00:00"));
    }

    [Fact]
    public void Day_names_are_case_insensitive()
    {
        // 2024-01-01 is a Monday.
        Assert.Equal(
            ["2024-01-01 00:00:00 +00:00", "2024-01-03 00:00:00 +00:00"],
            Occurrences("0 0 * * MON,wed", "2023-12-31 12:00:00 +00:00", "2024-01-07 12:00:00 +00:00"));
    }

    [Fact]
    public void Day_names_can_form_a_range()
    {
        Assert.Equal(
            ["2024-01-01 00:00:00 +00:00", "2024-01-02 00:00:00 +00:00", "2024-01-03 00:00:00 +00:00",
             "2024-01-04 00:00:00 +00:00", "2024-01-05 00:00:00 +00:00"],
            Occurrences("0 0 * * MON-FRI", "2023-12-31 12:00:00 +00:00", "2024-01-07 12:00:00 +00:00"));
    }

    [Theory]
    [InlineData("0 0 * * 0")]
    [InlineData("0 0 * * 7")]
    [InlineData("0 0 * * SUN")]
    public void Day_of_week_0_7_and_SUN_all_mean_Sunday(string expression)
    {
        Assert.Equal(
            ["2024-01-07 00:00:00 +00:00", "2024-01-14 00:00:00 +00:00"],
            Occurrences(expression, "2024-01-01 00:00:00 +00:00", "2024-01-14 00:00:00 +00:00"));
    }

    [Fact]
    public void Day_of_week_range_may_end_at_7_for_Sunday()
    {
        Assert.Equal(
            ["2024-01-05 00:00:00 +00:00", "2024-01-06 00:00:00 +00:00", "2024-01-07 00:00:00 +00:00"],
            Occurrences("0 0 * * 5-7", "2024-01-01 00:00:00 +00:00", "2024-01-07 23:59:59 +00:00"));
    }

    [Theory]
    [InlineData("@yearly", "2025-01-01 00:00:00 +00:00")]
    [InlineData("@annually", "2025-01-01 00:00:00 +00:00")]
    [InlineData("@monthly", "2024-04-01 00:00:00 +00:00")]
    [InlineData("@weekly", "2024-03-03 00:00:00 +00:00")]
    [InlineData("@daily", "2024-03-02 00:00:00 +00:00")]
    [InlineData("@midnight", "2024-03-02 00:00:00 +00:00")]
    [InlineData("@hourly", "2024-03-01 01:00:00 +00:00")]
    [InlineData("@DAILY", "2024-03-02 00:00:00 +00:00")]
    public void Macros_expand_to_their_standard_schedules(string macro, string expected)
    {
        Assert.Equal(expected, Next(macro, "2024-03-01 00:00:00 +00:00"));
    }

    [Fact]
    public void Macro_keeps_its_own_text_as_the_expression_and_has_no_seconds()
    {
        var cron = CronExpression.Parse(" @weekly ");

        Assert.Equal("@weekly", cron.Expression);
        Assert.False(cron.HasSeconds);
    }

    // ---- Day-of-month and day-of-week (Vixie cron rules) ----

    [Fact]
    public void Both_day_fields_restricted_match_when_either_matches()
    {
        // September 2024: the 1st is a Sunday; Fridays are the 6th, 13th, 20th and 27th.
        Assert.Equal(
            ["2024-09-01 00:00:00 +00:00", "2024-09-06 00:00:00 +00:00", "2024-09-13 00:00:00 +00:00",
             "2024-09-20 00:00:00 +00:00", "2024-09-27 00:00:00 +00:00"],
            Occurrences("0 0 1 * FRI", "2024-08-31 12:00:00 +00:00", "2024-09-30 12:00:00 +00:00"));
    }

    [Fact]
    public void Unrestricted_day_of_week_leaves_only_day_of_month_restricting()
    {
        Assert.Equal(
            ["2024-09-01 00:00:00 +00:00"],
            Occurrences("0 0 1 * *", "2024-08-31 12:00:00 +00:00", "2024-09-30 12:00:00 +00:00"));
    }

    [Fact]
    public void Unrestricted_day_of_month_leaves_only_day_of_week_restricting()
    {
        Assert.Equal(
            ["2024-09-06 00:00:00 +00:00", "2024-09-13 00:00:00 +00:00", "2024-09-20 00:00:00 +00:00", "2024-09-27 00:00:00 +00:00"],
            Occurrences("0 0 * * FRI", "2024-08-31 12:00:00 +00:00", "2024-09-30 12:00:00 +00:00"));
    }

    [Fact]
    public void Question_mark_in_day_of_month_is_unrestricted()
    {
        Assert.Equal(
            ["2024-09-06 00:00:00 +00:00", "2024-09-13 00:00:00 +00:00", "2024-09-20 00:00:00 +00:00", "2024-09-27 00:00:00 +00:00"],
            Occurrences("0 0 ? * FRI", "2024-08-31 12:00:00 +00:00", "2024-09-30 12:00:00 +00:00"));
    }

    [Fact]
    public void Question_mark_in_day_of_week_is_unrestricted()
    {
        Assert.Equal(
            ["2024-09-01 00:00:00 +00:00"],
            Occurrences("0 0 1 * ?", "2024-08-31 12:00:00 +00:00", "2024-09-30 12:00:00 +00:00"));
    }

    [Fact]
    public void Day_field_starting_with_star_counts_as_unrestricted_so_both_day_fields_must_match()
    {
        // As in Vixie cron, "*/2" is a star field: odd days AND Fridays, not odd days OR Fridays.
        Assert.Equal(
            ["2024-09-13 00:00:00 +00:00", "2024-09-27 00:00:00 +00:00"],
            Occurrences("0 0 */2 * FRI", "2024-08-31 12:00:00 +00:00", "2024-09-30 12:00:00 +00:00"));
    }

    // ---- Calendar edges ----

    [Fact]
    public void Day_31_skips_months_that_are_shorter()
    {
        Assert.Equal(
            ["2024-01-31 00:00:00 +00:00", "2024-03-31 00:00:00 +00:00", "2024-05-31 00:00:00 +00:00", "2024-07-31 00:00:00 +00:00",
             "2024-08-31 00:00:00 +00:00", "2024-10-31 00:00:00 +00:00", "2024-12-31 00:00:00 +00:00"],
            Occurrences("0 0 31 * *", "2024-01-01 00:00:00 +00:00", "2024-12-31 23:59:59 +00:00"));
    }

    [Fact]
    public void February_29_is_found_in_the_next_leap_year()
    {
        Assert.Equal("2024-02-29 00:00:00 +00:00", Next("0 0 29 2 *", "2021-03-01 00:00:00 +00:00"));
    }

    [Fact]
    public void February_29_after_an_occurrence_is_four_years_later()
    {
        Assert.Equal("2028-02-29 00:00:00 +00:00", Next("0 0 29 2 *", "2024-02-29 00:00:00 +00:00"));
    }

    [Fact]
    public void February_29_skips_2100_which_is_not_a_leap_year()
    {
        Assert.Equal("2104-02-29 00:00:00 +00:00", Next("0 0 29 2 *", "2096-03-01 00:00:00 +00:00"));
    }

    [Fact]
    public void Last_days_of_February_depend_on_the_leap_year()
    {
        Assert.Equal(
            ["2023-02-28 12:00:00 +00:00", "2024-02-28 12:00:00 +00:00", "2024-02-29 12:00:00 +00:00"],
            Occurrences("0 12 28-31 2 *", "2023-01-01 00:00:00 +00:00", "2024-12-31 00:00:00 +00:00"));
    }

    [Fact]
    public void Occurrence_rolls_over_into_the_next_year()
    {
        Assert.Equal("2025-01-01 00:00:00 +00:00", Next("0 0 * * *", "2024-12-31 23:59:59 +00:00"));
    }

    [Theory]
    [InlineData("0 0 30 2 *")]
    [InlineData("0 0 31 2 *")]
    [InlineData("0 0 31 4,6,9,11 *")]
    [InlineData("0 0 30-31 2 *")]
    public void Impossible_date_has_no_next_occurrence(string expression)
    {
        Assert.Null(Next(expression, "2024-01-01 00:00:00 +00:00"));
    }

    [Fact]
    public void Impossible_date_has_no_occurrences()
    {
        Assert.Empty(Occurrences("0 0 30 2 *", "2024-01-01 00:00:00 +00:00", "2040-01-01 00:00:00 +00:00"));
    }

    // ---- Strictly after, and occurrence ranges ----

    [Fact]
    public void Next_occurrence_is_strictly_after_a_matching_instant()
    {
        Assert.Equal("2024-01-01 11:00:00 +00:00", Next("0 * * * *", "2024-01-01 10:00:00 +00:00"));
    }

    [Fact]
    public void Next_occurrence_skips_the_current_second_when_the_instant_has_a_fraction()
    {
        var after = Instant("2024-01-01 10:00:00 +00:00").AddMilliseconds(500);

        var next = CronExpression.Parse("* * * * * *").GetNextOccurrence(after, Utc);

        Assert.Equal(Instant("2024-01-01 10:00:01 +00:00"), next);
    }

    [Fact]
    public void Next_occurrence_is_not_skipped_when_the_instant_is_a_fraction_before_it()
    {
        var after = Instant("2024-01-01 10:59:59 +00:00").AddTicks(TimeSpan.TicksPerSecond - 1);

        var next = CronExpression.Parse("0 * * * *").GetNextOccurrence(after, Utc);

        Assert.Equal(Instant("2024-01-01 11:00:00 +00:00"), next);
    }

    [Fact]
    public void Next_occurrence_is_returned_with_a_zero_offset()
    {
        var next = CronExpression.Parse("0 9 * * *").GetNextOccurrence(Instant("2024-07-01 00:00:00 +05:00"), Berlin);

        Assert.Equal(TimeSpan.Zero, next!.Value.Offset);
        Assert.Equal(new DateTime(2024, 7, 1, 7, 0, 0), next.Value.DateTime);
    }

    [Fact]
    public void Offset_of_the_given_instant_does_not_change_the_result()
    {
        var cron = CronExpression.Parse("0 12 * * *");

        Assert.Equal(
            cron.GetNextOccurrence(Instant("2024-01-01 10:00:00 +00:00"), Utc),
            cron.GetNextOccurrence(Instant("2024-01-01 05:00:00 -05:00"), Utc));
    }

    [Fact]
    public void Occurrences_exclude_the_start_and_include_the_end()
    {
        Assert.Equal(
            ["2024-01-01 11:00:00 +00:00", "2024-01-01 12:00:00 +00:00", "2024-01-01 13:00:00 +00:00"],
            Occurrences("0 * * * *", "2024-01-01 10:00:00 +00:00", "2024-01-01 13:00:00 +00:00"));
    }

    [Fact]
    public void Occurrences_are_empty_when_the_end_is_not_after_the_start()
    {
        Assert.Empty(Occurrences("* * * * *", "2024-01-01 10:00:00 +00:00", "2024-01-01 10:00:00 +00:00"));
        Assert.Empty(Occurrences("* * * * *", "2024-01-01 10:00:00 +00:00", "2024-01-01 09:00:00 +00:00"));
    }

    [Fact]
    public void Occurrences_continue_across_gaps_longer_than_one_search()
    {
        Assert.Equal(
            ["2104-02-29 00:00:00 +00:00", "2108-02-29 00:00:00 +00:00"],
            Occurrences("0 0 29 2 *", "2092-03-01 00:00:00 +00:00", "2108-12-31 00:00:00 +00:00")[^2..]);
    }

    [Fact]
    public void Null_time_zone_is_rejected()
    {
        var cron = CronExpression.Parse("* * * * *");

        Assert.Throws<ArgumentNullException>(() => cron.GetNextOccurrence(DateTimeOffset.UtcNow, null!));
        Assert.Throws<ArgumentNullException>(() => cron.GetOccurrences(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, null!));
    }

    // ---- Time zones ----

    [Fact]
    public void Fields_are_matched_against_local_time_in_winter()
    {
        Assert.Equal("2024-01-15 09:00:00 +01:00", Next("0 9 * * *", "2024-01-15 00:00:00 +00:00", Berlin));
    }

    [Fact]
    public void Fields_are_matched_against_local_time_in_summer()
    {
        Assert.Equal("2024-07-15 09:00:00 +02:00", Next("0 9 * * *", "2024-07-15 00:00:00 +00:00", Berlin));
    }

    [Fact]
    public void Day_fields_are_matched_against_the_local_date_not_the_utc_date()
    {
        // 02:30 on Monday in Kolkata is 21:00 on Sunday in UTC.
        var next = CronExpression.Parse("30 2 * * MON").GetNextOccurrence(Instant("2024-01-02 00:00:00 +00:00"), Kolkata);

        Assert.Equal(Instant("2024-01-07 21:00:00 +00:00"), next);
    }

    [Fact]
    public void Half_hour_offset_zone_fires_on_its_local_hour()
    {
        Assert.Equal("2024-01-01 16:00:00 +05:30", Next("0 * * * *", "2024-01-01 10:00:00 +00:00", Kolkata));
    }

    [Fact]
    public void Zone_without_daylight_saving_fires_at_the_same_utc_time_every_day()
    {
        var occurrences = CronExpression.Parse("30 2 * * *")
            .GetOccurrences(Instant("2024-01-01 00:00:00 +05:30"), Instant("2024-12-31 23:59:59 +05:30"), Kolkata)
            .ToList();

        Assert.Equal(366, occurrences.Count);
        Assert.All(occurrences, occurrence => Assert.Equal(new TimeSpan(21, 0, 0), occurrence.UtcDateTime.TimeOfDay));
    }

    // New York springs forward on 2024-03-10: 02:00 EST becomes 03:00 EDT (07:00 UTC).

    [Fact]
    public void Time_skipped_by_spring_forward_fires_at_the_end_of_the_gap()
    {
        Assert.Equal("2024-03-10 03:00:00 -04:00", Next("30 2 * * *", "2024-03-09 12:00:00 -05:00", NewYork));
    }

    [Fact]
    public void Time_skipped_by_spring_forward_fires_at_its_usual_time_the_next_day()
    {
        Assert.Equal("2024-03-11 02:30:00 -04:00", Next("30 2 * * *", "2024-03-10 03:00:00 -04:00", NewYork));
    }

    [Fact]
    public void Several_times_skipped_by_spring_forward_fire_only_once()
    {
        Assert.Equal(
            ["2024-03-10 03:00:00 -04:00"],
            Occurrences("10,20,40 2 * * *", "2024-03-10 00:00:00 -05:00", "2024-03-10 23:59:59 -04:00", NewYork));
    }

    [Fact]
    public void Interval_continues_normally_after_the_spring_forward_gap()
    {
        Assert.Equal(
            ["2024-03-10 01:35:00 -05:00", "2024-03-10 01:50:00 -05:00", "2024-03-10 03:00:00 -04:00",
             "2024-03-10 03:05:00 -04:00", "2024-03-10 03:20:00 -04:00"],
            Occurrences("5/15 * * * *", "2024-03-10 01:30:00 -05:00", "2024-03-10 03:20:00 -04:00", NewYork));
    }

    [Fact]
    public void Spring_forward_gap_in_Berlin_fires_at_the_end_of_the_gap()
    {
        // Berlin springs forward on 2024-03-31: 02:00 CET becomes 03:00 CEST.
        Assert.Equal("2024-03-31 03:00:00 +02:00", Next("30 2 * * *", "2024-03-30 12:00:00 +01:00", Berlin));
    }

    // New York falls back on 2024-11-03: 02:00 EDT becomes 01:00 EST, so 01:00-01:59 happens twice.

    [Fact]
    public void Fixed_time_repeated_by_fall_back_fires_only_in_the_first_pass()
    {
        Assert.Equal(
            ["2024-11-03 01:30:00 -04:00", "2024-11-04 01:30:00 -05:00"],
            Occurrences("30 1 * * *", "2024-11-03 00:00:00 -04:00", "2024-11-04 12:00:00 -05:00", NewYork));
    }

    [Fact]
    public void Fixed_time_does_not_fire_again_when_starting_inside_the_second_pass()
    {
        Assert.Equal("2024-11-04 01:30:00 -05:00", Next("30 1 * * *", "2024-11-03 01:10:00 -05:00", NewYork));
    }

    [Fact]
    public void Fixed_time_with_seconds_repeated_by_fall_back_fires_only_once()
    {
        Assert.Equal(
            ["2024-11-03 01:30:15 -04:00"],
            Occurrences("15 30 1 * * *", "2024-11-03 00:00:00 -04:00", "2024-11-03 12:00:00 -05:00", NewYork));
    }

    [Fact]
    public void Interval_fires_in_both_passes_of_the_fall_back_overlap()
    {
        Assert.Equal(
            ["2024-11-03 01:00:00 -04:00", "2024-11-03 01:30:00 -04:00", "2024-11-03 01:00:00 -05:00",
             "2024-11-03 01:30:00 -05:00", "2024-11-03 02:00:00 -05:00"],
            Occurrences("*/30 * * * *", "2024-11-03 00:45:00 -04:00", "2024-11-03 02:00:00 -05:00", NewYork));
    }

    [Fact]
    public void Hourly_fires_at_both_instances_of_the_repeated_hour()
    {
        Assert.Equal(
            ["2024-11-03 01:00:00 -04:00", "2024-11-03 01:00:00 -05:00", "2024-11-03 02:00:00 -05:00"],
            Occurrences("0 * * * *", "2024-11-03 00:30:00 -04:00", "2024-11-03 02:30:00 -05:00", NewYork));
    }

    [Fact]
    public void Minute_step_within_a_fixed_hour_counts_as_an_interval_and_fires_in_both_passes()
    {
        Assert.Equal(
            ["2024-11-03 01:00:00 -04:00", "2024-11-03 01:30:00 -04:00", "2024-11-03 01:00:00 -05:00", "2024-11-03 01:30:00 -05:00"],
            Occurrences("*/30 1 * * *", "2024-11-03 00:00:00 -04:00", "2024-11-03 12:00:00 -05:00", NewYork));
    }

    [Fact]
    public void Interval_moves_from_the_end_of_the_first_pass_to_the_start_of_the_second()
    {
        Assert.Equal("2024-11-03 01:00:00 -05:00", Next("*/15 * * * *", "2024-11-03 01:50:00 -04:00", NewYork));
    }

    [Fact]
    public void Interval_leaves_the_second_pass_at_the_end_of_the_overlap()
    {
        Assert.Equal("2024-11-03 02:00:00 -05:00", Next("*/15 * * * *", "2024-11-03 01:50:00 -05:00", NewYork));
    }

    [Fact]
    public void Fall_back_overlap_in_Berlin_fires_a_fixed_time_once()
    {
        // Berlin falls back on 2024-10-27: 03:00 CEST becomes 02:00 CET.
        Assert.Equal(
            ["2024-10-27 02:30:00 +02:00", "2024-10-28 02:30:00 +01:00"],
            Occurrences("30 2 * * *", "2024-10-26 12:00:00 +02:00", "2024-10-28 12:00:00 +01:00", Berlin));
    }

    // ---- Errors ----

    [Theory]
    [InlineData("", "cron expression is empty")]
    [InlineData("   ", "cron expression is empty")]
    [InlineData("* * * *", "cron '* * * *': expected 5 fields (minute hour day-of-month month day-of-week) or 6 fields (second first), found 4")]
    [InlineData("* * * * * * *", "cron '* * * * * * *': expected 5 fields (minute hour day-of-month month day-of-week) or 6 fields (second first), found 7")]
    [InlineData("@often", "cron '@often': unknown macro '@often'; supported macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly")]
    [InlineData("61 * * * *", "cron '61 * * * *': minute value 61 is out of range 0-59")]
    [InlineData("60 * * * * *", "cron '60 * * * * *': second value 60 is out of range 0-59")]
    [InlineData("0 24 * * *", "cron '0 24 * * *': hour value 24 is out of range 0-23")]
    [InlineData("0 0 0 * *", "cron '0 0 0 * *': day-of-month value 0 is out of range 1-31")]
    [InlineData("0 0 32 * *", "cron '0 0 32 * *': day-of-month value 32 is out of range 1-31")]
    [InlineData("0 0 * 0 *", "cron '0 0 * 0 *': month value 0 is out of range 1-12")]
    [InlineData("0 0 * 13 *", "cron '0 0 * 13 *': month value 13 is out of range 1-12")]
    [InlineData("0 0 * * 8", "cron '0 0 * * 8': day-of-week value 8 is out of range 0-7")]
    [InlineData("0 0-99 * * *", "cron '0 0-99 * * *': hour value 99 is out of range 0-23")]
    [InlineData("99999999999 * * * *", "cron '99999999999 * * * *': minute value 99999999999 is out of range 0-59")]
    [InlineData("5-1 * * * *", "cron '5-1 * * * *': minute range 5-1 is reversed; the start must not be greater than the end")]
    [InlineData("0 0 * * FRI-MON", "cron '0 0 * * FRI-MON': day-of-week range FRI-MON is reversed; the start must not be greater than the end")]
    [InlineData("*/0 * * * *", "cron '*/0 * * * *': minute step 0 in '*/0' is out of range 1-59")]
    [InlineData("0 1-5/0 * * *", "cron '0 1-5/0 * * *': hour step 0 in '1-5/0' is out of range 1-23")]
    [InlineData("0 */24 * * *", "cron '0 */24 * * *': hour step 24 in '*/24' is out of range 1-23")]
    [InlineData("*/x * * * *", "cron '*/x * * * *': minute step 'x' in '*/x' is not a number")]
    [InlineData("*/ * * * *", "cron '*/ * * * *': minute step '' in '*/' is not a number")]
    [InlineData("1/2/3 * * * *", "cron '1/2/3 * * * *': minute step '2/3' in '1/2/3' is not a number")]
    [InlineData("abc * * * *", "cron 'abc * * * *': minute value 'abc' is not a number")]
    [InlineData("1.5 * * * *", "cron '1.5 * * * *': minute value '1.5' is not a number")]
    [InlineData("+5 * * * *", "cron '+5 * * * *': minute value '+5' is not a number")]
    [InlineData("JAN * * * *", "cron 'JAN * * * *': minute value 'JAN' is not a number")]
    [InlineData("0 0 L * *", "cron '0 0 L * *': day-of-month value 'L' is not a number")]
    [InlineData("0 0 * FOO *", "cron '0 0 * FOO *': month value 'FOO' is not a number or a name JAN-DEC")]
    [InlineData("0 0 * * FUNDAY", "cron '0 0 * * FUNDAY': day-of-week value 'FUNDAY' is not a number or a name SUN-SAT")]
    [InlineData("0 0 * * JAN", "cron '0 0 * * JAN': day-of-week value 'JAN' is not a number or a name SUN-SAT")]
    [InlineData("1-2-3 * * * *", "cron '1-2-3 * * * *': minute value '2-3' is not a number")]
    [InlineData("-5 * * * *", "cron '-5 * * * *': minute item '-5' is missing a value")]
    [InlineData("5- * * * *", "cron '5- * * * *': minute item '5-' is missing a value")]
    [InlineData("1,,2 * * * *", "cron '1,,2 * * * *': minute field '1,,2' has an empty list item")]
    [InlineData("0 0 1, * *", "cron '0 0 1, * *': day-of-month field '1,' has an empty list item")]
    [InlineData("? * * * *", "cron '? * * * *': minute does not allow '?'; only day-of-month and day-of-week do")]
    [InlineData("0 0 * ? *", "cron '0 0 * ? *': month does not allow '?'; only day-of-month and day-of-week do")]
    public void Invalid_expression_is_rejected_with_a_message_naming_the_problem(string expression, string message)
    {
        var exception = Assert.Throws<FormatException>(() => CronExpression.Parse(expression));

        Assert.Equal(message, exception.Message);
    }

    [Fact]
    public void TryParse_reports_the_same_error_as_Parse_without_throwing()
    {
        var parsed = CronExpression.TryParse("61 * * * *", out var cron, out var error);

        Assert.False(parsed);
        Assert.Null(cron);
        Assert.Equal("cron '61 * * * *': minute value 61 is out of range 0-59", error);
    }

    [Fact]
    public void TryParse_returns_the_expression_and_no_error_when_valid()
    {
        var parsed = CronExpression.TryParse("*/5 * * * *", out var cron, out var error);

        Assert.True(parsed);
        Assert.Equal("*/5 * * * *", cron!.Expression);
        Assert.Null(error);
    }

    [Fact]
    public void TryParse_treats_null_as_empty()
    {
        Assert.False(CronExpression.TryParse(null!, out _, out var error));
        Assert.Equal("cron expression is empty", error);
    }

    [Fact]
    public void Parse_rejects_null_with_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => CronExpression.Parse(null!));
    }

    // ---- Randomised properties, checked against an independent matcher ----

    [Fact]
    public void Random_expressions_next_occurrence_is_after_the_instant_and_matches_local_time_or_ends_a_gap()
    {
        var random = new Random(20240310);
        TimeZoneInfo[] zones = [Utc, NewYork, Berlin, Kolkata];

        for (var i = 0; i < 400; i++)
        {
            var spec = RandomCron.Create(random);
            var zone = zones[random.Next(zones.Length)];
            var after = RandomInstant(random);

            var next = CronExpression.Parse(spec.Text).GetNextOccurrence(after, zone);

            if (next is null)
            {
                AssertNoMatchingDay(spec, TimeZoneInfo.ConvertTime(after, zone).Date, years: 7);
                continue;
            }

            Assert.True(next > after, $"'{spec.Text}' in {zone.Id}: {next:O} is not after {after:O}");
            Assert.Equal(TimeSpan.Zero, next.Value.Offset);
            var local = TimeZoneInfo.ConvertTime(next.Value, zone).DateTime;
            if (!spec.Matches(local))
                AssertEndsGapContainingMatch(spec, zone, next.Value);
        }
    }

    [Fact]
    public void Random_expressions_in_fixed_offset_zones_skip_no_matching_time()
    {
        var random = new Random(42);
        TimeZoneInfo[] zones = [Utc, Kolkata];

        for (var i = 0; i < 400; i++)
        {
            var spec = RandomCron.Create(random);
            var zone = zones[random.Next(zones.Length)];
            var after = RandomInstant(random);

            var next = CronExpression.Parse(spec.Text).GetNextOccurrence(after, zone);

            var offset = zone.BaseUtcOffset;
            var localAfter = after.UtcDateTime + offset;
            if (next is null)
            {
                AssertNoMatchingDay(spec, localAfter.Date, years: 7);
                continue;
            }

            var localNext = next.Value.UtcDateTime + offset;
            Assert.True(spec.Matches(localNext), $"'{spec.Text}': {localNext:O} does not match");

            // Second by second over the first two hours, then day by day over the whole days in between.
            var firstCandidate = new DateTime(localAfter.Ticks - localAfter.Ticks % TimeSpan.TicksPerSecond).AddSeconds(1);
            var secondsEnd = localNext < firstCandidate.AddHours(2) ? localNext : firstCandidate.AddHours(2);
            for (var t = firstCandidate; t < secondsEnd; t = t.AddSeconds(1))
                Assert.False(spec.Matches(t), $"'{spec.Text}' after {localAfter:O}: skipped {t:O}, returned {localNext:O}");
            for (var date = localAfter.Date.AddDays(1); date < localNext.Date; date = date.AddDays(1))
                Assert.False(spec.MatchesDate(date), $"'{spec.Text}' after {localAfter:O}: skipped {date:yyyy-MM-dd}, returned {localNext:O}");
        }
    }

    [Fact]
    public void Random_expressions_around_DST_transitions_fire_exactly_when_the_DST_rules_say()
    {
        var random = new Random(1103);
        // Each transition with the local hour it skips or repeats.
        (TimeZoneInfo Zone, DateTimeOffset Transition, int Hour)[] transitions =
        [
            (NewYork, Instant("2024-03-10 07:00:00 +00:00"), 2), (NewYork, Instant("2024-11-03 06:00:00 +00:00"), 1),
            (Berlin, Instant("2024-03-31 01:00:00 +00:00"), 2), (Berlin, Instant("2024-10-27 01:00:00 +00:00"), 2),
        ];
        int gapFires = 0, secondPassFires = 0;

        foreach (var (zone, transition, hour) in transitions)
        {
            var windowEnd = transition.AddHours(2);
            var seconds = WallClockSeconds(zone, transition.AddHours(-3), windowEnd);

            for (var i = 0; i < 60; i++)
            {
                var spec = RandomCron.Create(random, everyDayAt: hour);
                var fraction = random.Next(2) * random.Next(1, (int)TimeSpan.TicksPerSecond);
                var after = transition.AddSeconds(random.Next(-3 * 3600, 3600)).AddTicks(fraction);

                var expected = seconds.Where(second => second.Utc > after && ShouldFire(spec, second)).ToList();
                var actual = CronExpression.Parse(spec.Text).GetOccurrences(after, windowEnd, zone).ToList();

                var expectedInstants = expected.Select(second => second.Utc).ToList();
                Assert.True(expectedInstants.SequenceEqual(actual),
                    $"'{spec.Text}' in {zone.Id} after {after:O}: {FirstDifference(expectedInstants, actual)}");
                gapFires += expected.Count(second => second.SkippedFrom is not null);
                secondPassFires += expected.Count(second => second.IsSecondPass);
            }
        }

        // Guards the seeds: the comparison above must actually have covered both kinds of transition.
        Assert.True(gapFires > 0 && secondPassFires > 0, $"gap fires {gapFires}, second-pass fires {secondPassFires}");
    }

    // One UTC second as seen on the zone's wall clock. SkippedFrom is set when the second ends a spring-forward
    // gap, whose skipped local times are [SkippedFrom, Local).
    private sealed record WallClockSecond(DateTimeOffset Utc, DateTime Local, bool IsSecondPass, DateTime? SkippedFrom);

    private static List<WallClockSecond> WallClockSeconds(TimeZoneInfo zone, DateTimeOffset from, DateTimeOffset to)
    {
        var seconds = new List<WallClockSecond>();
        for (var utc = from; utc <= to; utc = utc.AddSeconds(1))
        {
            var offset = zone.GetUtcOffset(utc);
            var previousOffset = zone.GetUtcOffset(utc.AddSeconds(-1));
            var isSecondPass = zone.IsAmbiguousTime(utc) && offset == zone.GetAmbiguousTimeOffsets(utc).Min();
            DateTime? skippedFrom = offset > previousOffset ? utc.UtcDateTime + previousOffset : null;
            seconds.Add(new WallClockSecond(utc, utc.UtcDateTime + offset, isSecondPass, skippedFrom));
        }

        return seconds;
    }

    // The DST rules: a local time repeated by fall-back fires again only for interval expressions, and a gap
    // fires once at its end when it skipped any matching local time.
    private static bool ShouldFire(RandomCron spec, WallClockSecond second)
    {
        if (spec.Matches(second.Local) && (!second.IsSecondPass || spec.IsInterval))
            return true;
        if (second.SkippedFrom is not { } skippedFrom)
            return false;
        for (var local = skippedFrom; local < second.Local; local = local.AddSeconds(1))
        {
            if (spec.Matches(local))
                return true;
        }

        return false;
    }

    private static string FirstDifference(List<DateTimeOffset> expected, List<DateTimeOffset> actual)
    {
        var index = 0;
        while (index < expected.Count && index < actual.Count && expected[index] == actual[index])
            index++;

        string At(List<DateTimeOffset> instants) => index < instants.Count ? instants[index].ToString("O") : "nothing";
        return $"occurrence #{index + 1} should be {At(expected)} but is {At(actual)}";
    }

    private static DateTimeOffset RandomInstant(Random random)
    {
        // Rounded to various precisions so that some instants coincide exactly with occurrences.
        var instant = Instant("2000-01-01 00:00:00 +00:00").AddTicks(random.NextInt64(TimeSpan.TicksPerDay * 365 * 40));
        var precision = new[] { 1, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute, TimeSpan.TicksPerHour }[random.Next(4)];
        return new DateTimeOffset(instant.Ticks - instant.Ticks % precision, TimeSpan.Zero);
    }

    private static void AssertNoMatchingDay(RandomCron spec, DateTime fromDate, int years)
    {
        for (var date = fromDate; date < fromDate.AddYears(years); date = date.AddDays(1))
            Assert.False(spec.MatchesDate(date), $"'{spec.Text}' returned no occurrence but {date:yyyy-MM-dd} matches");
    }

    private static void AssertEndsGapContainingMatch(RandomCron spec, TimeZoneInfo zone, DateTimeOffset occurrence)
    {
        var offsetBefore = zone.GetUtcOffset(occurrence.UtcDateTime.AddTicks(-1));
        var offsetAfter = zone.GetUtcOffset(occurrence.UtcDateTime);
        Assert.True(offsetAfter > offsetBefore, $"'{spec.Text}' in {zone.Id}: {occurrence:O} neither matches nor ends a DST gap");

        var gapStart = occurrence.UtcDateTime + offsetBefore;
        var gapEnd = occurrence.UtcDateTime + offsetAfter;
        var skippedMatch = false;
        for (var t = gapStart; t < gapEnd && !skippedMatch; t = t.AddSeconds(1))
            skippedMatch = spec.Matches(t);
        Assert.True(skippedMatch, $"'{spec.Text}' in {zone.Id}: fired at the end of a gap that skipped no matching time");
    }

    // A random valid expression built together with the exact set of values each field allows.
    private sealed class RandomCron
    {
        private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
        private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

        private RandomCron(string text, bool isInterval, HashSet<int>[] allowed, bool dayOfMonthStar, bool dayOfWeekStar)
        {
            Text = text;
            IsInterval = isInterval;
            _allowed = allowed;
            _dayOfMonthStar = dayOfMonthStar;
            _dayOfWeekStar = dayOfWeekStar;
        }

        private readonly HashSet<int>[] _allowed;
        private readonly bool _dayOfMonthStar, _dayOfWeekStar;

        public string Text { get; }

        // Fires repeatedly within an hour: a star or step in the second, minute or hour field.
        public bool IsInterval { get; }

        public bool Matches(DateTime local) =>
            _allowed[0].Contains(local.Second) && _allowed[1].Contains(local.Minute) && _allowed[2].Contains(local.Hour) && MatchesDate(local);

        public bool MatchesDate(DateTime local)
        {
            var dayOfMonth = _allowed[3].Contains(local.Day);
            var dayOfWeek = _allowed[5].Contains((int)local.DayOfWeek);
            var day = _dayOfMonthStar || _dayOfWeekStar ? dayOfMonth && dayOfWeek : dayOfMonth || dayOfWeek;
            return day && _allowed[4].Contains(local.Month);
        }

        // With `everyDayAt`, the day and month fields are "*" and the hour field always allows that hour, so the
        // expression is likely to fire close to a given time of day.
        public static RandomCron Create(Random random, int? everyDayAt = null)
        {
            var hasSeconds = random.Next(2) == 0;
            (int Min, int Max, string[]? Names)[] fields =
                [(0, 59, null), (0, 59, null), (0, 23, null), (1, 31, null), (1, 12, MonthNames), (0, 7, DayNames)];

            var texts = new List<string>();
            var allowed = new HashSet<int>[fields.Length];
            var stars = new bool[fields.Length];
            for (var i = 0; i < fields.Length; i++)
            {
                if (i == 0 && !hasSeconds)
                {
                    allowed[i] = [0];
                    continue;
                }

                var (min, max, names) = fields[i];
                if (everyDayAt is not null && i >= 3)
                {
                    (allowed[i], stars[i]) = (Stepped(min, max, 1), true);
                    texts.Add("*");
                    continue;
                }

                var isDayField = i is 3 or 5;
                (var text, allowed[i], stars[i]) = RandomField(random, min, max, names, isDayField);
                if (i == 2 && everyDayAt is { } hour && allowed[i].Add(hour))
                    text += $",{hour}";
                texts.Add(text);
            }

            // 7 is Sunday, which DayOfWeek calls 0.
            if (allowed[5].Remove(7))
                allowed[5].Add(0);

            var isInterval = texts.Take(hasSeconds ? 3 : 2).Any(text => text.Contains('*') || text.Contains('/'));
            return new RandomCron(string.Join(" ", texts), isInterval, allowed, stars[3], stars[5]);
        }

        private static (string Text, HashSet<int> Values, bool IsStar) RandomField(Random random, int min, int max, string[]? names, bool isDayField)
        {
            if (random.Next(3) == 0)
            {
                var star = isDayField && random.Next(4) == 0 ? "?" : "*";
                if (random.Next(2) == 0)
                    return (star, Stepped(min, max, 1), true);
                var step = RandomStep(random, max);
                return ($"{star}/{step}", Stepped(min, max, step), true);
            }

            var items = new List<string>();
            var values = new HashSet<int>();
            for (var count = random.Next(1, 4); count > 0; count--)
            {
                var a = random.Next(min, max + 1);
                var b = random.Next(a, max + 1);
                var step = RandomStep(random, max);
                var (item, itemValues) = random.Next(4) switch
                {
                    0 => (Value(random, a, min, names), Stepped(a, a, 1)),
                    1 => ($"{Value(random, a, min, names)}-{Value(random, b, min, names)}", Stepped(a, b, 1)),
                    2 => ($"{Value(random, a, min, names)}-{Value(random, b, min, names)}/{step}", Stepped(a, b, step)),
                    _ => ($"{Value(random, a, min, names)}/{step}", Stepped(a, max, step)),
                };
                items.Add(item);
                values.UnionWith(itemValues);
            }

            return (string.Join(",", items), values, false);
        }

        private static int RandomStep(Random random, int max) => random.Next(2) == 0 ? random.Next(1, 7) : random.Next(1, max + 1);

        private static HashSet<int> Stepped(int from, int to, int step) =>
            Enumerable.Range(0, (to - from) / step + 1).Select(k => from + k * step).ToHashSet();

        private static string Value(Random random, int value, int min, string[]? names)
        {
            if (names is null || value - min >= names.Length || random.Next(3) != 0)
                return value.ToString(CultureInfo.InvariantCulture);
            var name = names[value - min];
            return random.Next(2) == 0 ? name : name.ToLowerInvariant();
        }
    }
}
