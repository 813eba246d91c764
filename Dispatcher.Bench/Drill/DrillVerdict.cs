extern alias web;

using web::Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Bench.Drill;

/// <summary>Everything the drill saw, checked row by row against the witness's record of calls.</summary>
public sealed record DrillEvidence(
    IReadOnlyList<DrillBatch> Batches,
    IReadOnlyList<AcceptedSignup> Signups,
    IReadOnlyList<ContactRow> Contacts,
    IReadOnlyList<SignupRow> SignupRows,
    IReadOnlyList<KillRecord> Kills,
    IReadOnlyList<RestartRecord> Restarts,
    IReadOnlyDictionary<string, int> FailedJobs,
    IReadOnlyList<BadInputOutcome> BadInputs);

public static class DrillVerdict
{
    // Two dials of one batch may come this much closer than their pace (network and scheduling jitter).
    private static readonly TimeSpan PaceSlack = TimeSpan.FromSeconds(1);

    public static DrillReport Judge(DrillEvidence evidence, DrillProviders providers)
    {
        var ultravoxCalls = providers.Ultravox.Calls.ToLookup(c => c.To);
        var twilioCalls = providers.Twilio.Calls.ToLookup(c => c.To);
        var contactsFinal = evidence.Contacts.Count(c => DrillDatabase.FinalContactStates.Contains(c.Status));
        var rows = evidence.SignupRows.ToDictionary(r => r.Id);
        var signupsUnfinished = evidence.Signups.Count(s => !rows.TryGetValue(s.JobId, out var row) || !DrillDatabase.FinalSignupStates.Contains(row.Status));

        var doubleDials = evidence.Contacts.Count(c => TwiceAtOnceOrTooOften(
                ultravoxCalls[c.PhoneNumber].Select(call => (call.Created, call.Ended)).ToList(), c.AllowedAttempts))
            + evidence.Signups.Count(s => rows.TryGetValue(s.JobId, out var row) && TwiceAtOnceOrTooOften(
                twilioCalls[s.PhoneNumber].Select(call => (call.Created, call.EndTime)).ToList(), row.MaxAttempts));
        var signupPhones = evidence.Signups.Select(s => s.PhoneNumber).ToHashSet();
        var onboardingCalls = providers.Twilio.Calls.Count(c => c.To is not null && signupPhones.Contains(c.To));

        return new DrillReport(
            ContactsTotal: evidence.Contacts.Count,
            ContactsFinal: contactsFinal,
            Lost: evidence.Contacts.Count - contactsFinal + signupsUnfinished,
            DoubleDials: doubleDials,
            ConcurrencyViolations: evidence.Batches.Count(b => providers.Ultravox.MaxLiveCallsFor(b.ApiKey) > b.MaxConcurrent),
            PaceViolations: evidence.Batches.Sum(b => PaceViolations(providers.Ultravox.CreateRequestTimesFor(b.ApiKey), b.CallsPerMinute)),
            Signups: evidence.Signups.Count,
            OnboardingCallsPerSignup: evidence.Signups.Count == 0 ? 0 : Math.Round((double)onboardingCalls / evidence.Signups.Count, 3),
            Kills: evidence.Kills.Count,
            PgRestarts: evidence.Restarts.Count,
            RecoverySMax: Max(evidence.Restarts.Select(r => FirstDialAfter(providers.Ultravox, null, r.Ended) - r.Began)),
            KillRecoverySMax: Max(evidence.Kills.SelectMany(k => k.DiallingBatches.Select(id =>
                FirstDialAfter(providers.Ultravox, evidence.Batches.FirstOrDefault(b => b.Id == id)?.ApiKey, k.At) - k.At))),
            HangfireFailedJobs: evidence.FailedJobs,
            BadInputsTried: evidence.BadInputs.Count,
            BadInputsRefusedClean: evidence.BadInputs.Count(o => o.RefusedClean));
    }

    /// <summary>What went wrong, number by number, for whoever reads the progress: the JSON line only counts.</summary>
    public static void Explain(DrillEvidence evidence, DrillProviders providers, TextWriter progress)
    {
        var ultravoxCalls = providers.Ultravox.Calls.ToLookup(c => c.To);
        var twilioCalls = providers.Twilio.Calls.ToLookup(c => c.To);
        foreach (var contact in evidence.Contacts)
        {
            var calls = ultravoxCalls[contact.PhoneNumber].ToList();
            if (!DrillDatabase.FinalContactStates.Contains(contact.Status) || TwiceAtOnceOrTooOften(calls.Select(c => (c.Created, c.Ended)).ToList(), contact.AllowedAttempts))
                progress.WriteLine($"contact {contact.Id} ({contact.PhoneNumber}, batch {contact.BatchId}): {contact.Status}, attempts {contact.Attempts} of {contact.AllowedAttempts}; calls: "
                    + string.Join("; ", calls.Select(c => $"{c.Created:HH:mm:ss.fff}-{c.Ended:HH:mm:ss.fff} {c.EndReason} attempt {c.Metadata.GetValueOrDefault("attempt")}")));
        }
        var rows = evidence.SignupRows.ToDictionary(r => r.Id);
        foreach (var signup in evidence.Signups)
        {
            var calls = twilioCalls[signup.PhoneNumber].ToList();
            var row = rows.GetValueOrDefault(signup.JobId);
            if (row is null || !DrillDatabase.FinalSignupStates.Contains(row.Status) || TwiceAtOnceOrTooOften(calls.Select(c => (c.Created, c.EndTime)).ToList(), row.MaxAttempts))
                progress.WriteLine($"signup {signup.UserId} (job {signup.JobId}): {row?.Status ?? "no row"}, attempts {row?.Attempts}, last call status {row?.LastCallStatus}, "
                    + $"error {row?.LastError}; calls: " + string.Join("; ", calls.Select(c => $"{c.Sid} {c.Created:HH:mm:ss.fff}-{c.EndTime:HH:mm:ss.fff} {c.Status}")));
        }
    }

    /// <summary>Two calls to one number live at once, or more calls than the attempts it was allowed.</summary>
    private static bool TwiceAtOnceOrTooOften(List<(DateTimeOffset Created, DateTimeOffset? Ended)> calls, int allowed)
    {
        if (calls.Count > allowed) return true;
        var ordered = calls.OrderBy(c => c.Created).ToList();
        return ordered.Zip(ordered.Skip(1)).Any(pair => (pair.First.Ended ?? DateTimeOffset.MaxValue) > pair.Second.Created);
    }

    /// <summary>Dials that came sooner after an earlier one than the pace allows for the dials between them.</summary>
    private static int PaceViolations(IReadOnlyList<DateTimeOffset> requests, int callsPerMinute)
    {
        var times = requests.Order().ToList();
        var interval = TimeSpan.FromMinutes(1.0 / callsPerMinute);
        var violations = 0;
        for (var j = 1; j < times.Count; j++)
        {
            for (var i = 0; i < j; i++)
            {
                if (times[j] - times[i] >= interval * (j - i) - PaceSlack) continue;
                violations++;
                break;
            }
        }
        return violations;
    }

    // When the first creation request (of one agency's key, or any) reached the witness after this moment.
    private static DateTimeOffset? FirstDialAfter(UltravoxEmulation ultravox, string? apiKey, DateTimeOffset after) =>
        ultravox.CreateRequests.Where(r => r.At > after && (apiKey is null || r.ApiKey == apiKey)).Select(r => (DateTimeOffset?)r.At).Min();

    private static double? Max(IEnumerable<TimeSpan?> spans)
    {
        var known = spans.OfType<TimeSpan>().ToList();
        return known.Count == 0 ? null : Math.Round(known.Max().TotalSeconds, 1);
    }
}
