using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Jobs.Onboarding;

public sealed record OnboardingCallPage(IReadOnlyList<OnboardingCall> Calls, long? NextBeforeId);

/// <summary>What the dashboard reads and does with onboarding calls: lists by status (paged by id) and retry of failed ones.</summary>
public sealed class OnboardingCalls(NpgsqlDataSource dataSource, OnboardingRequeues requeues, OnboardingDispatcher dispatcher)
{
    public const int MaxPageSize = 200;
    public static readonly string[] Statuses = ["queued", "dialing", "ringing", "in_progress", "completed", "failed", "cancelled"];

    /// <summary>Counts above this are not counted further: <see cref="CountsAsync"/> reports <c>CountCap + 1</c> ("more than").</summary>
    public const int CountCap = 10_000;

    /// <summary>
    /// Calls per status, each counted up to <see cref="CountCap"/> + 1 by a bounded walk of the status index,
    /// so the dashboard's every-few-seconds refresh costs the same at a million signups as at a hundred.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> CountsAsync(CancellationToken ct)
    {
        var counts = Statuses.ToDictionary(s => s, _ => 0L);
        await using var command = dataSource.CreateCommand("""
            SELECT s.status, (SELECT count(*) FROM (SELECT 1 FROM outbound_call_jobs j WHERE j.status = s.status LIMIT $2) capped)
            FROM unnest($1::text[]) AS s(status)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = Statuses, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = CountCap + 1, NpgsqlDbType = NpgsqlDbType.Integer });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }

    public async Task<OnboardingCallPage> ListAsync(string? status, long? beforeId, int limit, CancellationToken ct)
    {
        limit = Math.Clamp(limit, 1, MaxPageSize);
        await using var command = dataSource.CreateCommand($"""
            SELECT {OnboardingCall.Columns}
            FROM outbound_call_jobs
            WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)beforeId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var calls = new List<OnboardingCall>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                calls.Add(OnboardingCall.Read(reader));
        if (calls.Count <= limit) return new OnboardingCallPage(calls, null);
        calls.RemoveAt(limit);
        return new OnboardingCallPage(calls, calls[^1].Id);
    }

    /// <summary>
    /// Failed rows (the given ones, or all when <paramref name="ids"/> is null) are queued again with
    /// one more attempt allowed (at most 10 in all), and their call job enqueued again: the failed
    /// job each had, else a new one. Returns how many.
    /// </summary>
    public async Task<int> RetryFailedAsync(IReadOnlyCollection<long>? ids, string requestedBy, CancellationToken ct) =>
        await dispatcher.EnqueueAsync(await requeues.ReopenAsync(ids, jobId: null, requestedBy, ct), ct);
}
