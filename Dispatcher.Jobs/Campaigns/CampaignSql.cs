namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// The campaign statements, in one place. Contact moves are single statements; the counters on
/// call_batches follow by trigger in the same transaction. Times are parameters (TimeProvider).
/// </summary>
internal static class CampaignSql
{
    public const string Live = "b.dialing + b.in_progress + b.unknown";

    // Dial protocol step 1: when the batch may dial now (processing, agency not rate-limited,
    // its pace slot reached, a concurrency slot free), take its next queued contact, count the
    // attempt and move the pace slot on. The row lock on the batch serialises instances.
    public const string Reserve = $"""
        WITH batch AS (
            SELECT b.id, coalesce(b.next_dial_at, $2) AS slot FROM call_batches b JOIN agencies a ON a.id = b.agency_id
            WHERE b.id = $1 AND b.status = 'processing'
              AND (a.rate_limited_until IS NULL OR a.rate_limited_until <= $2)
              AND (b.next_dial_at IS NULL OR b.next_dial_at <= $2)
              AND {Live} < b.max_concurrent
            FOR UPDATE OF b),
        contact AS (
            SELECT c.id FROM campaign_contacts c
            WHERE c.batch_id = (SELECT id FROM batch) AND c.status = 'queued'
            ORDER BY c.id LIMIT 1
            FOR UPDATE SKIP LOCKED),
        dialing AS (
            UPDATE campaign_contacts c
            SET status = 'dialing', attempts = c.attempts + 1, status_changed_at = $2, updated_at = $2
            WHERE c.id = (SELECT id FROM contact)
            RETURNING c.id, c.phone_number, c.name, c.variables, c.attempts),
        paced AS (
            UPDATE call_batches b
            SET next_dial_at = greatest(coalesce(b.next_dial_at, $2), $2) + make_interval(secs => 60.0 / b.calls_per_minute),
                updated_at = $2
            WHERE b.id = (SELECT id FROM batch) AND EXISTS (SELECT 1 FROM dialing))
        SELECT d.id, d.phone_number, d.name, d.variables::text, d.attempts, (SELECT slot FROM batch) FROM dialing d
        """;

    // What the batch looks like now: read right after Reserve, in the same round trip.
    public const string BatchState = $"""
        SELECT b.status, b.scheduled_for, b.next_dial_at, a.rate_limited_until, {Live}, b.max_concurrent, b.queued,
               b.agency_id, b.agent_mapping_id, b.dialing
        FROM call_batches b JOIN agencies a ON a.id = b.agency_id
        WHERE b.id = $1
        """;

    // A due pending or scheduled batch starts: processing, its pending contacts queued.
    public const string Start = """
        WITH started AS (
            UPDATE call_batches SET status = 'processing', started_at = coalesce(started_at, $2), updated_at = $2
            WHERE id = ANY ($1) AND status IN ('pending', 'scheduled') AND (scheduled_for IS NULL OR scheduled_for <= $2)
            RETURNING id)
        UPDATE campaign_contacts SET status = 'queued', status_changed_at = $2, updated_at = $2
        WHERE batch_id IN (SELECT id FROM started) AND status = 'pending'
        """;

    // The tick: due batches to start, and processing ones quiet since $3 (a dialling batch touches
    // its row with every dial), whose job may be gone; least recently touched first.
    public const string DueBatches = """
        SELECT id FROM call_batches
        WHERE (status IN ('pending', 'scheduled') AND (scheduled_for IS NULL OR scheduled_for <= $1))
           OR (status = 'processing' AND updated_at < $3)
        ORDER BY updated_at
        LIMIT $2
        """;

    public const string TouchBatches = "UPDATE call_batches SET updated_at = $2 WHERE id = ANY ($1)";

    // Dials a previous run of process-batch left half-done (its worker died or was stopped
    // mid-request): their outcome is unknown, so they are looked up, never dialled again blindly.
    // $3 is the contact this run has just reserved, if any.
    public const string Interrupted = """
        UPDATE campaign_contacts SET status = 'unknown', last_error = 'dial interrupted: the worker stopped during the request', status_changed_at = $2, updated_at = $2
        WHERE batch_id = $1 AND status = 'dialing' AND id <> $3
        RETURNING id, attempts
        """;

    // The pace counts from when a request actually went out ($sent), not only from its
    // reservation: a slow first request (cold caches, a new connection) must not let the next
    // one follow too closely. One dialler per batch at a time (its unique job) makes this exact.
    private static string PacedFromSend(string batchId, string sent) => $"""
        paced AS (
            UPDATE call_batches SET next_dial_at = greatest(next_dial_at, {sent}::timestamptz + make_interval(secs => 60.0 / calls_per_minute))
            WHERE id = {batchId}
            RETURNING next_dial_at)
        """;

    // Step 3, created: the contact is in a call; the call is recorded. $6 is when the request went
    // out. Returns the batch's next pace slot, so the dialler can sleep without asking again.
    public static readonly string Created = $"""
        WITH started AS (
            UPDATE campaign_contacts SET status = 'in_progress', call_id = $2, last_error = NULL, status_changed_at = $4, updated_at = $4
            WHERE id = $1 AND attempts = $3 AND status IN ('dialing', 'unknown')
            RETURNING id, batch_id),
        {PacedFromSend("(SELECT batch_id FROM started)", "$6")},
        recorded AS (
            INSERT INTO calls (ultravox_call_id, batch_id, contact_id, attempt, status, created_at, dial_slot, dialed_at, metadata)
            SELECT $2, batch_id, id, $3, 'started', $4, $5, $6, $7::jsonb FROM started
            ON CONFLICT (ultravox_call_id) DO NOTHING)
        SELECT next_dial_at FROM paced
        """;

    // A reserved contact that was never dialled waits again, its attempt given back.
    public const string Release = """
        UPDATE campaign_contacts SET status = 'queued', attempts = attempts - 1, status_changed_at = $2, updated_at = $2
        WHERE id = $1 AND status = 'dialing'
        """;

    // Step 3, 429/503: nothing was created; the contact is released and the whole agency
    // pauses until Retry-After.
    public const string RateLimited = $"""
        WITH back AS ({Release})
        UPDATE agencies SET rate_limited_until = greatest(coalesce(rate_limited_until, $3), $3), updated_at = $2
        WHERE id = (SELECT agency_id FROM call_batches WHERE id = $4)
        """;

    // A definite no (4xx, invalid number): the contact fails with the reason. $4: when the request went out.
    public static readonly string Rejected = $"""
        WITH failed AS (
            UPDATE campaign_contacts SET status = 'failed', last_error = $2, status_changed_at = $3, updated_at = $3
            WHERE id = $1 AND status IN ('dialing', 'unknown')
            RETURNING batch_id),
        {PacedFromSend("(SELECT batch_id FROM failed)", "$4")}
        SELECT count(*) FROM failed
        """;

    // Timeout, lost connection, 5xx: the call may exist. Never dial again before looking it up.
    public static readonly string Unknown = $"""
        WITH unsure AS (
            UPDATE campaign_contacts SET status = 'unknown', last_error = $2, status_changed_at = $3, updated_at = $3
            WHERE id = $1 AND status = 'dialing'
            RETURNING batch_id),
        {PacedFromSend("(SELECT batch_id FROM unsure)", "$4")}
        SELECT count(*) FROM unsure
        """;

    // An unknown outcome whose call never turned up: another attempt if allowed, else failed.
    public const string GiveUp = """
        UPDATE campaign_contacts c
        SET status = CASE WHEN c.attempts < b.max_attempts THEN 'queued' ELSE 'failed' END,
            last_error = $3, status_changed_at = $4, updated_at = $4
        FROM call_batches b
        WHERE c.id = $1 AND c.attempts = $2 AND c.status = 'unknown' AND b.id = c.batch_id
        RETURNING c.status
        """;

    // Step 4: the call ended. Hang-ups complete the contact; anything else fails it, or queues it
    // again while attempts remain. Only the contact's current attempt, still live, is touched,
    // so duplicate and stale deliveries change nothing.
    public const string CallEnded = """
        WITH target AS (
            SELECT c.id, c.batch_id, c.attempts, b.max_attempts FROM campaign_contacts c JOIN call_batches b ON b.id = c.batch_id
            WHERE c.id = $1 AND c.attempts = $2 AND c.status IN ('dialing', 'in_progress', 'unknown')
            FOR UPDATE OF c),
        finished AS (
            UPDATE campaign_contacts c
            SET status = CASE WHEN $4 IN ('hangup', 'agent_hangup') THEN 'completed'
                              WHEN t.attempts < t.max_attempts THEN 'queued' ELSE 'failed' END,
                call_id = $3,
                last_error = CASE WHEN $4 IN ('hangup', 'agent_hangup') THEN NULL ELSE 'call ended: ' || $4 END,
                status_changed_at = $5, updated_at = $5
            FROM target t WHERE c.id = t.id
            RETURNING c.id, c.batch_id, c.status),
        recorded AS (
            INSERT INTO calls AS k (ultravox_call_id, batch_id, contact_id, attempt, status, end_reason, created_at, joined_at, ended_at, metadata)
            SELECT $3, batch_id, id, $2, 'ended', $4, coalesce($6, $5), $7, coalesce($8, $5), $9::jsonb FROM finished
            ON CONFLICT (ultravox_call_id) DO UPDATE
            SET status = 'ended', end_reason = excluded.end_reason, joined_at = coalesce(k.joined_at, excluded.joined_at), ended_at = excluded.ended_at)
        SELECT batch_id, status FROM finished
        """;

    // A batch is done when nothing is left to dial or waiting on a call. Returns its state after.
    public const string CompleteIfDone = $"""
        WITH done AS (
            UPDATE call_batches SET status = 'completed', completed_at = $2, updated_at = $2
            WHERE id = $1 AND status = 'processing' AND pending + queued + dialing + in_progress + unknown = 0
            RETURNING id)
        SELECT b.status, b.queued, {Live}, b.max_concurrent, EXISTS (SELECT 1 FROM done)
        FROM call_batches b WHERE b.id = $1
        """;

    public const string FailBatch = """
        UPDATE call_batches SET status = 'failed', last_error = $2, completed_at = $3, updated_at = $3
        WHERE id = $1 AND status NOT IN ('completed', 'cancelled', 'failed')
        """;

    public const string ContactForLookup = """
        SELECT c.status, c.attempts, c.call_id, c.status_changed_at, b.agency_id, b.agent_mapping_id, b.id
        FROM campaign_contacts c JOIN call_batches b ON b.id = c.batch_id
        WHERE c.id = $1
        """;

    // Calls in progress for long: their webhook may be lost.
    public const string StaleCalls = """
        SELECT c.id, c.attempts, c.call_id, b.agency_id, b.agent_mapping_id
        FROM campaign_contacts c JOIN call_batches b ON b.id = c.batch_id
        WHERE c.status = 'in_progress' AND c.status_changed_at < $1 AND c.call_id IS NOT NULL
        ORDER BY c.status_changed_at
        LIMIT $2
        """;
}
