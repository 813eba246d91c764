using System.Collections.Concurrent;

namespace Dispatcher.Web.Telephony.Emulation;

/// <summary>
/// What the emulated providers have done since start: calls created and how they ended, refusals,
/// and the HTTP status of every webhook or callback delivered. For the dashboard and for tests.
/// </summary>
public sealed class EmulationActivity
{
    private readonly ConcurrentDictionary<(string Provider, string What), long> _counts = new();

    public void Count(string provider, string what) => _counts.AddOrUpdate((provider, what), 1, (_, n) => n + 1);

    public long Get(string provider, string what) => _counts.GetValueOrDefault((provider, what));

    /// <summary>Every count, e.g. ("ultravox", "ended:hangup") or ("twilio", "callback:204").</summary>
    public IReadOnlyDictionary<(string Provider, string What), long> Snapshot() => new Dictionary<(string, string), long>(_counts);
}
