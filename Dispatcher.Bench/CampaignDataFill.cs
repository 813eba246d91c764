using Npgsql;

namespace Dispatcher.Bench;

/// <summary>
/// Fills our domain tables in bulk: one agency, <c>batches</c> batches with their contacts in id
/// order (batch b holds a contiguous id range), a call per contact that was dialled, and some
/// onboarding calls. Contacts 20k + 4 are failed, each waiting for the requeue of the Hangfire
/// job that names it (failed_job_id, written with the row: a failed contact without one would
/// get one from the service's campaign tick while the pages are timed). Every tenth batch is
/// paused (its undialled contacts queued), the rest completed: nothing is due, so the service
/// dials nobody while the pages are timed. The batches' counters come from the contacts'
/// insert trigger, as in production.
/// </summary>
public sealed class CampaignDataFill(NpgsqlDataSource dataSource)
{
    private const int Chunk = 100_000;

    public const int OnboardingCalls = 5_000;

    /// <param name="jobBase">Hangfire job n's id is jobBase + n; CampaignCallJob n stands for contact n - 16.</param>
    public async Task FillAsync(int batches, int contacts, int jobs, long jobBase)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await ExecuteAsync(connection, $"""
            INSERT INTO agencies (name, created_at, updated_at) VALUES ('Bench agency', now(), now());
            INSERT INTO agent_mappings (agency_id, ultravox_agent_id, ultravox_agent_name, from_number, created_at, updated_at)
            SELECT id, 'agent-bench', 'Bench agent', '+15550100000', now(), now() FROM agencies;
            INSERT INTO call_batches (agency_id, agent_mapping_id, name, status, calls_per_minute, max_concurrent, max_attempts,
                                      started_at, completed_at, created_at, updated_at)
            SELECT a.id, m.id, 'Batch ' || b, CASE WHEN b % 10 = 0 THEN 'paused' ELSE 'completed' END, 60, 5, 3,
                   now() - interval '1 day' + b * interval '1 minute', CASE WHEN b % 10 <> 0 THEN now() - interval '1 hour' END,
                   now() - interval '1 day' + b * interval '1 minute', now()
            FROM generate_series(1, {batches}) b CROSS JOIN agencies a CROSS JOIN agent_mappings m;
            """);
        var perBatch = Math.Max(contacts / batches, 1);
        for (var start = 1; start <= contacts; start += Chunk)
        {
            var end = Math.Min(start + Chunk - 1, contacts);
            // Contact n belongs to the n-th batch of perBatch in id order; batch ids are 1.. in a fresh database.
            await ExecuteAsync(connection, $"""
                WITH n AS (
                    SELECT g AS n, least(1 + (g - 1) / {perBatch}, {batches}) AS batch,
                           CASE WHEN g % 20 = 4 AND g + 16 <= {jobs} THEN 'failed'
                                WHEN least(1 + (g - 1) / {perBatch}, {batches}) % 10 = 0 AND g % 10 >= 6 THEN 'queued'
                                WHEN g % 50 = 7 THEN 'cancelled' ELSE 'completed' END AS status
                    FROM generate_series({start}, {end}) g),
                contacts AS (
                    INSERT INTO campaign_contacts (id, batch_id, phone_number, name, variables, status, attempts, call_id, last_error,
                                                   failed_job_id, status_changed_at, created_at, updated_at)
                    SELECT n, batch, '+1555' || lpad(n::text, 7, '0'), 'Contact ' || n, jsonb_build_object('first_name', 'Contact', 'plan', 'pro'),
                           status, CASE status WHEN 'failed' THEN 3 WHEN 'completed' THEN 1 ELSE 0 END,
                           CASE WHEN status IN ('completed', 'failed') THEN 'uv-call-' || n END,
                           CASE WHEN status = 'failed' THEN 'Out of attempts: 3 calls ended as unjoined (last: no answer after 45 s)' END,
                           CASE WHEN status = 'failed' THEN ({jobBase} + n + 16)::text END,
                           now() - interval '2 hours', now() - interval '1 day', now() - interval '2 hours'
                    FROM n
                    RETURNING id, batch_id, status, call_id)
                INSERT INTO calls (ultravox_call_id, batch_id, contact_id, attempt, status, end_reason, created_at, joined_at, ended_at, dialed_at)
                SELECT call_id, batch_id, id, CASE status WHEN 'failed' THEN 3 ELSE 1 END, 'ended',
                       CASE status WHEN 'failed' THEN 'unjoined' ELSE 'hangup' END,
                       now() - interval '3 hours', CASE WHEN status = 'completed' THEN now() - interval '3 hours' END,
                       now() - interval '2 hours', now() - interval '3 hours'
                FROM contacts WHERE call_id IS NOT NULL
                """);
            Console.Error.WriteLine($"filled {end:N0} contacts");
        }
        await ExecuteAsync(connection, $"""
            SELECT setval(pg_get_serial_sequence('campaign_contacts', 'id'), (SELECT max(id) FROM campaign_contacts));
            INSERT INTO outbound_call_jobs (user_id, phone_number, status, attempts, dedupe_key, twilio_call_sid, last_call_status, last_error,
                                            dispatched_at, created_at, updated_at)
            SELECT 'user-' || g, '+1666' || lpad(g::text, 7, '0'), s.status, CASE s.status WHEN 'failed' THEN 3 ELSE 1 END,
                   'user-' || g || ':bench', 'CA' || md5(g::text), CASE s.status WHEN 'failed' THEN 'busy' ELSE 'completed' END,
                   CASE WHEN s.status = 'failed' THEN 'Twilio call ended busy 3 times' END,
                   now() - interval '1 hour', now() - interval '1 day' + g * interval '10 seconds', now()
            FROM generate_series(1, {OnboardingCalls}) g
            CROSS JOIN LATERAL (SELECT CASE WHEN g % 10 = 3 THEN 'failed' ELSE 'completed' END AS status) s;
            """);
        foreach (var table in new[] { "campaign_contacts", "calls", "call_batches", "outbound_call_jobs" })
            await ExecuteAsync(connection, $"VACUUM ANALYZE {table}");
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 900 };
        await command.ExecuteNonQueryAsync();
    }
}
