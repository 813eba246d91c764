using Dispatcher.Web.Configuration;
using Dispatcher.Queue;
using Microsoft.AspNetCore.Antiforgery;

namespace Dispatcher.Web.Dashboard;

/// <summary>What the shared layout and every page need about the request: where the dashboard lives, who looks, the form token.</summary>
public sealed record DashboardView(string Base, DashboardUser? User, AntiforgeryTokenSet? Tokens, TelephonyMode Mode, Redaction Redaction,
    DateTimeOffset Now, string? Notice, bool SignInEnabled)
{
    public bool CanAct => User?.CanAct == true;

    /// <summary>An address inside the dashboard, under the request's PathBase (reverse proxy prefix) and the dashboard path.</summary>
    public string Url(string path = "") => Base + path;

    public static string StateSlug(JobState state) => state == JobState.Discarded ? "failed" : state.ToDb();

    public static string StateLabel(JobState state) => state switch
    {
        JobState.Discarded => "Failed",
        JobState.Completed => "Succeeded",
        _ => state.ToString(),
    };

    public static JobState? ParseState(string? slug) => slug switch
    {
        null or "" or "all" => null,
        "failed" => JobState.Discarded,
        "succeeded" => JobState.Completed,
        _ => Enum.GetValues<JobState>().Where(s => s.ToDb() == slug).Select(s => (JobState?)s).FirstOrDefault()
             ?? throw new ArgumentException($"unknown job state '{slug}'"),
    };

    /// <summary>An onboarding count, which is counted only up to <see cref="Dispatcher.Jobs.Onboarding.OnboardingCalls.CountCap"/>.</summary>
    public static string OnboardingCount(long count) =>
        count > Dispatcher.Jobs.Onboarding.OnboardingCalls.CountCap ? $"{Dispatcher.Jobs.Onboarding.OnboardingCalls.CountCap:N0}+" : count.ToString("N0");

    public string Ago(DateTimeOffset? at) => Ago(Now, at);

    public static string Ago(DateTimeOffset now, DateTimeOffset? at)
    {
        if (at is not { } time) return "";
        var span = now - time;
        var future = span < TimeSpan.Zero;
        if (future) span = -span;
        var text = span.TotalSeconds < 60 ? $"{(int)span.TotalSeconds}s"
            : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes}m"
            : span.TotalHours < 48 ? $"{(int)span.TotalHours}h"
            : $"{(int)span.TotalDays}d";
        return future ? "in " + text : text + " ago";
    }

    // Invariant: in a custom format ":" is the culture's time separator, which is not ":" everywhere.
    public static string Time(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + (at is null ? "" : " UTC");

    /// <summary>To the millisecond: a job's events often fall within one second, and their order is the point of a timeline.</summary>
    public static string PreciseTime(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture) + " UTC";

    public static string Duration(TimeSpan? span) => span is not { } s ? ""
        : s.TotalSeconds < 1 ? $"{s.TotalMilliseconds:0} ms"
        : s.TotalMinutes < 1 ? $"{s.TotalSeconds:0.0} s"
        : s.TotalHours < 1 ? $"{(int)s.TotalMinutes}m {s.Seconds}s"
        : $"{(int)s.TotalHours}h {s.Minutes}m";
}
