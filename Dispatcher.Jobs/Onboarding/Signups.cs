using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

public sealed record Signup(string UserId, string PhoneNumber, string? SignupMode = null, IReadOnlyDictionary<string, string>? Metadata = null);

public sealed record SignupResult(long JobId, bool Created);

/// <param name="Metadata">The signup's metadata (e.g. first_name for the script), a JSON object as it was given.</param>
public sealed record OnboardingCall(long Id, string UserId, string PhoneNumber, string SignupMode, JsonElement Metadata, string Status, int Attempts,
    int MaxAttempts, DateTimeOffset? NextAttemptAt, string? TwilioCallSid, string? LastCallStatus, string? LastError, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt, DateTimeOffset? RequeuedAt, string? RequeuedBy)
{
    /// <summary>What <see cref="Read"/> reads, in its order, from outbound_call_jobs.</summary>
    public const string Columns = """
        id, user_id, phone_number, signup_mode, metadata::text, status, attempts, max_attempts, next_attempt_at, twilio_call_sid,
        last_call_status, last_error, created_at, updated_at, requeued_at, requeued_by
        """;

    public static OnboardingCall Read(NpgsqlDataReader reader)
    {
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        using var metadata = JsonDocument.Parse(reader.GetString(4));
        return new OnboardingCall(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), metadata.RootElement.Clone(),
            reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
            Text(9), Text(10), Text(11), reader.GetFieldValue<DateTimeOffset>(12), reader.GetFieldValue<DateTimeOffset>(13),
            reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14), Text(15));
    }
}

/// <summary>Signups without Supabase: the same intake (and dedupe) the auth.users trigger uses.</summary>
public sealed class Signups(NpgsqlDataSource dataSource, OnboardingDispatcher dispatcher, TimeProvider clock, ILogger<Signups> logger)
{
    /// <summary>
    /// Records the signup's call (or finds the user's call of the last hour) and, once that has
    /// committed, enqueues its job. A failed enqueue does not fail the signup: the row is accepted,
    /// and onboarding-dispatch gives it its job.
    /// </summary>
    public async Task<SignupResult> RequestCallAsync(Signup signup, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(signup.UserId)) throw new ArgumentException("user_id is required");
        if (string.IsNullOrWhiteSpace(signup.PhoneNumber)) throw new ArgumentException("phone_number is required");
        await using var command = dataSource.CreateCommand("SELECT job_id, created FROM request_onboarding_call($1, $2, $3, $4::jsonb, $5)");
        command.Parameters.Add(new NpgsqlParameter { Value = signup.UserId });
        command.Parameters.Add(new NpgsqlParameter { Value = signup.PhoneNumber.Trim() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)signup.SignupMode ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(signup.Metadata ?? new Dictionary<string, string>()) });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        SignupResult result;
        // The reader (and with it the pooled connection) must be gone before the dispatch below
        // takes a connection: disposing it again later would touch a connection in other hands.
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            result = new SignupResult(reader.GetInt64(0), reader.GetBoolean(1));
        }
        if (result.Created)
        {
            try { await dispatcher.DispatchAsync(result.JobId, ct); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Onboarding call {Id} is recorded but its job was not enqueued; onboarding-dispatch will", result.JobId);
            }
        }
        return result;
    }

    public async Task<OnboardingCall?> GetAsync(long id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {OnboardingCall.Columns} FROM outbound_call_jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? OnboardingCall.Read(reader) : null;
    }
}
