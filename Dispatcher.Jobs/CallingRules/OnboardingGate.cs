using Npgsql;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>What the calling rules say of an onboarding call about to be placed.</summary>
public abstract record OnboardingVerdict
{
    public sealed record Go : OnboardingVerdict;
    /// <summary>On a do-not-call list: the row is now suppressed.</summary>
    public sealed record Suppressed : OnboardingVerdict;
    /// <summary>Held (a stop of all agencies) or outside the signup's calling window: look again at <paramref name="At"/>.</summary>
    public sealed record Wait(DateTimeOffset At, string Reason) : OnboardingVerdict;
}

/// <summary>
/// The calling rules for onboarding calls, which belong to no agency: a stop of all agencies holds
/// them, a number on any agency's do-not-call list is never called (the row ends suppressed), and
/// by default the service's calling hours hold in the zone(s) of the signup's number.
/// </summary>
public sealed class OnboardingGate(NpgsqlDataSource dataSource, CallingRulesOptions options, TimeProvider clock)
{
    public async Task<OnboardingVerdict> JudgeAsync(long id, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand("""
            WITH row AS (SELECT id, phone_number FROM outbound_call_jobs WHERE id = $1),
            listed AS (
                UPDATE outbound_call_jobs o SET status = 'suppressed', last_error = 'on a do-not-call list: not called', updated_at = $2
                FROM row
                WHERE o.id = row.id AND o.status = 'queued'
                  AND EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone_number = row.phone_number AND d.removed_at IS NULL)
                RETURNING 1)
            SELECT row.phone_number, EXISTS (SELECT 1 FROM listed),
                   EXISTS (SELECT 1 FROM dispatch_stops WHERE agency_id IS NULL AND resumed_at IS NULL)
            FROM row
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return new OnboardingVerdict.Go(); // the call job stands down on its own
        var (phone, suppressed, stopped) = (reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2));
        if (suppressed) return new OnboardingVerdict.Suppressed();
        if (stopped) return new OnboardingVerdict.Wait(now + options.HoldRecheck, "held: every agency is stopped");
        // Hours that never close need no zone: the number's look-up is the costly part of this judgement.
        if (!options.OnboardingKeepsHours || options.DefaultHours == CallingHours.Always || ContactZones.Of(phone, null) is not { } zones)
            return new OnboardingVerdict.Go();
        var window = CallingWindow.Next(options.DefaultHours, zones, now);
        return window is null || window.OpensAt > now
            ? new OnboardingVerdict.Wait(window?.OpensAt ?? now.AddDays(1), "outside the signup's calling hours")
            : new OnboardingVerdict.Go();
    }
}
