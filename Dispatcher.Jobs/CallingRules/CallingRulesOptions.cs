namespace Dispatcher.Jobs.CallingRules;

/// <summary>Calling-hours and stop settings, from environment variables (names in brackets).</summary>
public sealed record CallingRulesOptions
{
    /// <summary>Calling hours of an agency that has none of its own [CALLING_HOURS, e.g. "Mon-Sat 09:00-20:00"].</summary>
    public CallingHours DefaultHours { get; set; } = CallingHours.Default;

    /// <summary>Onboarding calls keep <see cref="DefaultHours"/> in the signup's zone [ONBOARDING_CALLING_HOURS, on/off].</summary>
    public bool OnboardingKeepsHours { get; set; } = true;

    /// <summary>A stop answers once the dials it found under way have reached the provider, or after this long.</summary>
    public TimeSpan StopSettleTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>An onboarding call held by a stop looks again this often.</summary>
    public TimeSpan HoldRecheck { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The hours a batch's contacts are judged by: the batch's own within its agency's (or the default); null when they share no hour.</summary>
    public CallingHours? HoursFor(CallingHours? batch, CallingHours? agency) =>
        batch is null ? agency ?? DefaultHours : batch.Within(agency ?? DefaultHours);
}
