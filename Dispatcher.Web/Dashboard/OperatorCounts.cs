using Npgsql;

namespace Dispatcher.Web.Dashboard;

/// <summary>What the home page adds to Hangfire's metrics, read in one statement.</summary>
public sealed record OperatorCounts(long ActiveBatches, long CallsInProgress, long DialsLastMinute, long FailedCallsWaiting)
{
    private const string ItemKey = "dispatcher.operator-counts";

    /// <summary>
    /// Counted once per request: Hangfire asks each metric separately, in one /stats request.
    /// Batch figures come from the batch rows' counters; onboarding figures are capped walks of its status index.
    /// </summary>
    public static OperatorCounts For(HttpContext http)
    {
        if (http.Items[ItemKey] is OperatorCounts counts) return counts;
        var onboarding = http.RequestServices.GetService<Dispatcher.Jobs.Onboarding.OnboardingCalls>() is not null;
        using var command = http.RequestServices.GetRequiredService<NpgsqlDataSource>().CreateCommand($"""
            WITH active AS (SELECT dialing + in_progress + unknown AS live FROM call_batches
                            WHERE status IN ('pending', 'scheduled', 'processing', 'paused'))
            SELECT (SELECT count(*) FROM active),
                   (SELECT coalesce(sum(live), 0) FROM active)::bigint + {(onboarding ? OnboardingCapped("status IN ('dialing', 'ringing', 'in_progress')") : "0")},
                   (SELECT count(*) FROM calls WHERE created_at > now() - interval '1 minute'),
                   (SELECT count(*) FROM campaign_contacts WHERE status = 'failed' AND failed_job_id IS NOT NULL) + {(onboarding ? OnboardingCapped("status = 'failed'") : "0")}
            """);
        using var reader = command.ExecuteReader();
        reader.Read();
        counts = new OperatorCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        http.Items[ItemKey] = counts;
        return counts;
    }

    // Onboarding tables exist only where onboarding is on.
    private static string OnboardingCapped(string where) =>
        $"(SELECT count(*) FROM (SELECT 1 FROM outbound_call_jobs WHERE {where} LIMIT {Dispatcher.Jobs.Onboarding.OnboardingCalls.CountCap + 1}) capped)";
}
