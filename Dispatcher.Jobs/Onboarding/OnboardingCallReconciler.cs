using Dispatcher.Jobs.Onboarding.Twilio;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>
/// Finishes onboarding calls whose final status callback was lost (Twilio sends each once; the
/// fault drill found such rows in progress for good). A row dialled, ringing or in progress with no
/// news for ReconcileAfter is looked up at Twilio; a call found ended is applied as its callback
/// would have been, so the row completes, or is retried or failed by the same rules.
/// </summary>
public sealed class OnboardingCallReconciler(NpgsqlDataSource dataSource, TwilioCalls twilio, TwilioStatusCallback callback,
    OnboardingOptions options, TimeProvider clock, ILogger<OnboardingCallReconciler> logger)
{
    private static readonly HashSet<string> Ended = ["completed", "busy", "no-answer", "failed", "canceled"];

    // Newer than any SequenceNumber Twilio sends, so the looked-up end counts as the last word on the attempt.
    private const int LookedUpSequence = int.MaxValue;

    private sealed record Stale(long Id, int Attempts, string PhoneNumber, string CallSid, DateTimeOffset CreatedAt);

    /// <summary>One pass over at most CALL_DISPATCHER_LIMIT stale rows; returns how many it finished.</summary>
    public async Task<int> PassAsync(CancellationToken ct)
    {
        var stale = new List<Stale>();
        await using (var command = dataSource.CreateCommand("""
            SELECT id, attempts, phone_number, twilio_call_sid, created_at FROM outbound_call_jobs
            WHERE status IN ('dialing', 'ringing', 'in_progress') AND twilio_call_sid IS NOT NULL AND updated_at < $1
            ORDER BY updated_at LIMIT $2
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() - options.ReconcileAfter });
            command.Parameters.Add(new NpgsqlParameter { Value = options.DispatchLimit });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                stale.Add(new Stale(reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        var finished = 0;
        foreach (var row in stale)
        {
            TwilioCall? call;
            try
            {
                // Its calls start after the row was made; a minute's leeway for clocks.
                call = (await twilio.FindCallsAsync(row.PhoneNumber, row.CreatedAt.AddMinutes(-1), ct)).FirstOrDefault(c => c.Sid == row.CallSid);
            }
            catch (TwilioException e)
            {
                logger.LogWarning("Looking up onboarding call {JobId} ({CallSid}) at Twilio failed: {Reason}; the next pass tries again", row.Id, row.CallSid, e.Message);
                continue;
            }
            if (call is null || !Ended.Contains(call.Status)) continue; // still going (a long talk), or not listed yet
            var (result, _) = await callback.HandleAsync(row.Id, row.Attempts,
                [new("CallSid", row.CallSid), new("CallStatus", call.Status), new("SequenceNumber", LookedUpSequence.ToString())], ct);
            if (result != CallbackResult.Applied) continue;
            finished++;
            logger.LogInformation("Onboarding call {JobId} ({CallSid}) had ended {Status} without its final callback; settled by look-up",
                row.Id, row.CallSid, call.Status);
        }
        return finished;
    }
}
