namespace Dispatcher.Jobs.CallingRules;

/// <summary>
/// Works out contacts' next calling windows for one set of hours at one moment, each distinct set
/// of zones once (a batch's contacts share a handful).
/// </summary>
public sealed class WindowPlanner(CallingHours? hours, DateTimeOffset now)
{
    private readonly Dictionary<string, OpenWindow?> _byZones = [];

    /// <summary>
    /// The contact's window; <see cref="OpenWindow.Unbounded"/> when its zones are unknown (an invalid
    /// number, which the dial refuses); null when its zones share no calling hour in the coming week.
    /// </summary>
    public OpenWindow? For(IReadOnlyList<string>? zones)
    {
        if (zones is null or { Count: 0 }) return OpenWindow.Unbounded;
        if (hours is null) return null;
        var key = string.Join(',', zones);
        if (!_byZones.TryGetValue(key, out var window)) _byZones[key] = window = CallingWindow.Next(hours, zones, now);
        return window;
    }
}
