using Dispatcher.Jobs.Campaigns;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>A stop in force: of one agency, or of all (<paramref name="AgencyId"/> null).</summary>
public sealed record DispatchStop(long? AgencyId, DateTimeOffset StoppedAt, string StoppedBy);

/// <summary>What a stop did: batches it paused, and dials it found under way that had not reached the provider when it answered.</summary>
public sealed record StopOutcome(int BatchesPaused, int DialsUnsettled, bool AlreadyStopped);

public sealed record ResumeOutcome(int BatchesRestored);

/// <summary>The agency (or nothing) is under a stop of all agencies, which only a resume of all lifts.</summary>
public sealed class StoppedForAllException() : Exception("a stop of all agencies is in force: resume all agencies instead");

/// <summary>A stop named an agency that does not exist; nothing was stopped.</summary>
public sealed class NoSuchAgencyException(long agencyId) : Exception($"no agency {agencyId}");

/// <summary>
/// Stop everything: one action pauses every batch of an agency (or of all) and holds onboarding
/// calls (a stop of all). Calls already live finish; the reservation statement sees the stop, so
/// nothing new is dialled until the resume, which gives each batch back the state the stop found it
/// in (a batch paused before stays paused).
/// </summary>
public sealed class DispatchStops(NpgsqlDataSource dataSource, BatchWaker waker, CallingRulesOptions options, TimeProvider clock,
    ILogger<DispatchStops> logger)
{
    /// <summary>
    /// Records the stop and pauses the batches in one transaction: a reservation that follows its
    /// commit sees it (the stop takes the batch rows' locks). Then waits, up to
    /// <see cref="CallingRulesOptions.StopSettleTimeout"/>, for dials reserved before it to reach the
    /// provider, so that once it answers no request of a new dial goes out.
    /// </summary>
    public async Task<StopOutcome> StopAsync(long? agencyId, string by, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        int paused;
        bool already;
        await using (var command = dataSource.CreateCommand("""
            WITH stop AS (
                INSERT INTO dispatch_stops (agency_id, stopped_at, stopped_by) VALUES ($1, $2, $3)
                ON CONFLICT ((coalesce(agency_id, 0))) WHERE resumed_at IS NULL DO NOTHING
                RETURNING id),
            paused AS (
                UPDATE call_batches SET stopped_from = status, status = 'paused', updated_at = $2
                WHERE status IN ('pending', 'scheduled', 'processing') AND ($1::bigint IS NULL OR agency_id = $1)
                RETURNING id)
            SELECT (SELECT count(*)::int FROM paused), NOT EXISTS (SELECT 1 FROM stop)
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)agencyId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            command.Parameters.Add(new NpgsqlParameter { Value = by });
            try
            {
                await using var reader = await command.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                (paused, already) = (reader.GetInt32(0), reader.GetBoolean(1));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                throw new NoSuchAgencyException(agencyId!.Value); // the one statement rolled back: nothing paused
            }
        }
        logger.LogWarning("Stop of {Scope} by {By}: {Paused} batches paused", agencyId is null ? "all agencies" : $"agency {agencyId}", by, paused);
        var unsettled = await DialsUnderWayAsync(agencyId, ct);
        var until = clock.GetUtcNow() + options.StopSettleTimeout;
        while (unsettled > 0 && clock.GetUtcNow() < until)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), clock, ct);
            unsettled = await DialsUnderWayAsync(agencyId, ct);
        }
        return new StopOutcome(paused, unsettled, already);
    }

    /// <summary>Lifts the stop (of all: every stop) and gives each batch it paused its earlier state back.</summary>
    public async Task<ResumeOutcome> ResumeAsync(long? agencyId, string by, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var wake = new List<(long Id, string Name)>();
        int restored;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        await using (var tx = await connection.BeginTransactionAsync(ct))
        {
            if (agencyId is not null)
            {
                await using var check = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM dispatch_stops WHERE agency_id IS NULL AND resumed_at IS NULL)", connection, tx);
                if ((bool)(await check.ExecuteScalarAsync(ct))!) throw new StoppedForAllException();
            }
            await using var command = new NpgsqlCommand("""
                WITH lifted AS (
                    UPDATE dispatch_stops SET resumed_at = $2, resumed_by = $3
                    WHERE resumed_at IS NULL AND ($1::bigint IS NULL OR agency_id = $1)),
                restored AS (
                    UPDATE call_batches SET status = CASE WHEN status = 'paused' THEN stopped_from ELSE status END, stopped_from = NULL, updated_at = $2
                    WHERE stopped_from IS NOT NULL AND ($1::bigint IS NULL OR agency_id = $1)
                    RETURNING id, status = 'paused' AS was_paused)
                SELECT (SELECT count(*)::int FROM restored), b.id, b.name FROM call_batches b
                WHERE b.status IN ('pending', 'scheduled', 'processing') AND ($1::bigint IS NULL OR b.agency_id = $1)
                   OR b.id IN (SELECT id FROM restored)
                """, connection, tx);
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)agencyId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            command.Parameters.Add(new NpgsqlParameter { Value = by });
            restored = 0;
            await using (var reader = await command.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct))
                {
                    restored = reader.GetInt32(0);
                    wake.Add((reader.GetInt64(1), reader.GetString(2)));
                }
            await tx.CommitAsync(ct);
        }
        // Every batch that may dial again gets its job (a batch made during the stop, or resumed by hand, too).
        foreach (var (id, _) in wake) await waker.WakeAsync(id, ct);
        logger.LogWarning("Resume of {Scope} by {By}: {Restored} batches restored", agencyId is null ? "all agencies" : $"agency {agencyId}", by, restored);
        return new ResumeOutcome(restored);
    }

    /// <summary>Stops in force.</summary>
    public async Task<IReadOnlyList<DispatchStop>> InForceAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT agency_id, stopped_at, stopped_by FROM dispatch_stops WHERE resumed_at IS NULL ORDER BY agency_id NULLS FIRST");
        var stops = new List<DispatchStop>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            stops.Add(new DispatchStop(reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2)));
        return stops;
    }

    // Dials reserved but not yet answered by the provider, in the stop's scope (onboarding's too for a stop of all).
    private async Task<int> DialsUnderWayAsync(long? agencyId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT (SELECT coalesce(sum(dialing), 0)::int FROM call_batches WHERE dialing > 0 AND ($1::bigint IS NULL OR agency_id = $1))
                 + CASE WHEN $1::bigint IS NULL
                        THEN (SELECT count(*)::int FROM outbound_call_jobs WHERE status = 'dialing' AND claim_token IS NOT NULL AND twilio_call_sid IS NULL)
                        ELSE 0 END
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)agencyId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }
}
