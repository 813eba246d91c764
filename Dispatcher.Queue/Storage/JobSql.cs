namespace Dispatcher.Queue.Storage;

/// <summary>
/// Every statement the engine runs against its jobs, in one place. Times come in as parameters
/// (from TimeProvider), never from now(), so tests control the clock.
/// </summary>
internal sealed class JobSql(string schema)
{
    private readonly string s = schema;
    private const string EmptyArray = "{}";
    private const string EmptyObject = "{}";

    /// <summary>
    /// A CTE that appends the net change per (queue, state) of the rows in <paramref name="changed"/>
    /// (columns queue, old_state, new_state; null for "none") to job_count_deltas. Every statement
    /// that changes jobs carries one, so counts stay exact without counting rows or row triggers.
    /// </summary>
    public string CountDeltas(string changed) => $"""
        counted AS (
            INSERT INTO {s}.job_count_deltas (queue, state, delta)
            SELECT queue, state, sum(delta) FROM (
                SELECT queue, new_state AS state, 1 AS delta FROM {changed} WHERE new_state IS NOT NULL
                UNION ALL
                SELECT queue, old_state, -1 FROM {changed} WHERE old_state IS NOT NULL) d
            GROUP BY queue, state
            HAVING sum(delta) <> 0)
        """;

    // Insert many jobs in one statement. A live job with the same unique key wins: the row is
    // skipped and reported as a duplicate by the caller's follow-up lookup.
    public string Insert => $"""
        WITH inserted AS (
            INSERT INTO {s}.jobs (kind, queue, state, priority, args, max_attempts, tags, metadata, unique_key, created_at, scheduled_at)
            SELECT kind, queue, state::{s}.job_state, priority, args, max_attempts,
                   CASE WHEN tags IS NULL THEN '{EmptyArray}' ELSE ARRAY(SELECT jsonb_array_elements_text(tags)) END,
                   coalesce(metadata, '{EmptyObject}'), unique_key, $11, scheduled_at
            FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::jsonb[], $6::int[], $7::jsonb[], $8::jsonb[], $9::text[], $10::timestamptz[])
                 AS j(kind, queue, state, priority, args, max_attempts, tags, metadata, unique_key, scheduled_at)
            ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable') DO NOTHING
            RETURNING id, unique_key, queue, NULL::{s}.job_state AS old_state, state AS new_state),
        {CountDeltas("inserted")}
        SELECT id, unique_key FROM inserted
        """;

    public string FindLiveByUniqueKeys => $"""
        SELECT unique_key, id FROM {s}.jobs
        WHERE unique_key = ANY($1) AND state IN ('available', 'scheduled', 'running', 'retryable')
        """;

    public string Notify => "SELECT pg_notify($1, q) FROM unnest($2::text[]) AS q";

    // Claim up to $2 available jobs of queue $1 for worker $3, counting the attempt. Ids go
    // through an array so the update is an index look-up whatever the planner thinks of the
    // CTE's size (a join here turned into a scan of the whole table: 0.1 ms became 10 ms).
    public string Claim => $"""
        WITH picked AS (
            SELECT id FROM {s}.jobs
            WHERE state = 'available' AND queue = $1
            ORDER BY priority, scheduled_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED),
        claimed AS (
            UPDATE {s}.jobs AS j
            SET state = 'running', attempt = j.attempt + 1, attempted_at = $4, attempted_by = $3
            WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
            RETURNING j.id, j.kind, j.queue, j.args, j.attempt, j.max_attempts, j.tags, j.created_at, j.scheduled_at,
                      'available'::{s}.job_state AS old_state, j.state AS new_state),
        {CountDeltas("claimed")}
        SELECT id, kind, queue, args::text, attempt, max_attempts, tags, created_at, scheduled_at,
               set_config('synchronous_commit', 'off', true) -- for this transaction only: see Producer.ClaimAsync
        FROM claimed
        """;

    // Write many outcomes at once. Only rows still running under this worker change, so a job
    // cancelled by an operator or rescued meanwhile is left as it is.
    public string Complete => $"""
        WITH finished AS (
            UPDATE {s}.jobs AS j
            SET state = CASE WHEN {Rerun} AND o.state IN ('completed', 'scheduled') THEN 'available'::{s}.job_state ELSE o.state::{s}.job_state END,
                scheduled_at = CASE WHEN {Rerun} AND o.state IN ('completed', 'scheduled') THEN j.attempted_at ELSE coalesce(o.scheduled_at, j.scheduled_at) END,
                attempt = j.attempt - CASE WHEN {Rerun} AND o.state IN ('completed', 'scheduled') THEN 1 ELSE o.refund END,
                finalized_at = CASE WHEN {Rerun} AND o.state IN ('completed', 'scheduled') THEN NULL ELSE o.finalized_at END,
                metadata = j.metadata - 'rerun',
                errors = CASE WHEN o.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(o.error) END,
                last_error = coalesce(left(o.error ->> 'message', 500), j.last_error)
            FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::int[], $5::jsonb[], $6::timestamptz[])
                 AS o(id, state, scheduled_at, refund, error, finalized_at)
            WHERE j.id = o.id AND j.state = 'running' AND j.attempted_by = $7
            RETURNING j.queue, 'running'::{s}.job_state AS old_state, j.state AS new_state),
        {CountDeltas("finished")}
        SELECT DISTINCT queue FROM finished WHERE new_state = 'available'
        """;

    // The common case, kept lean: every job of the batch succeeded.
    public string CompleteAll => $"""
        WITH finished AS (
            UPDATE {s}.jobs AS j
            SET state = CASE WHEN {Rerun} THEN 'available'::{s}.job_state ELSE 'completed'::{s}.job_state END,
                finalized_at = CASE WHEN {Rerun} THEN NULL ELSE $2 END,
                attempt = CASE WHEN {Rerun} THEN j.attempt - 1 ELSE j.attempt END,
                metadata = j.metadata - 'rerun'
            FROM unnest($1::bigint[]) AS o(id)
            WHERE j.id = o.id AND j.state = 'running' AND j.attempted_by = $3
            RETURNING j.queue, 'running'::{s}.job_state AS old_state, j.state AS new_state),
        {CountDeltas("finished")}
        SELECT DISTINCT queue FROM finished WHERE new_state = 'available'
        """;

    // Shutdown: what this worker still runs goes back to available, the attempt not spent.
    public string HandBack => $"""
        WITH returned AS (
            UPDATE {s}.jobs SET state = 'available', attempt = greatest(attempt - 1, 0), attempted_by = NULL
            WHERE state = 'running' AND attempted_by = $1
            RETURNING queue, 'running'::{s}.job_state AS old_state, state AS new_state),
        {CountDeltas("returned")}
        SELECT queue FROM returned
        """;

    public string Heartbeat => $"""
        INSERT INTO {s}.workers (id, host, pid, queues, started_at, heartbeat_at)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6)
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
        """;

    public string Deregister => $"DELETE FROM {s}.workers WHERE id = $1";

    // Take or renew the lease: possible when it is ours or has expired.
    public string ElectLeader => $"""
        INSERT INTO {s}.leader AS l (name, leader_id, elected_at, expires_at) VALUES ('default', $1, $2, $3)
        ON CONFLICT (name) DO UPDATE
        SET leader_id = excluded.leader_id,
            elected_at = CASE WHEN l.leader_id = excluded.leader_id THEN l.elected_at ELSE excluded.elected_at END,
            expires_at = excluded.expires_at
        WHERE l.leader_id = excluded.leader_id OR l.expires_at < excluded.elected_at
        RETURNING leader_id
        """;

    public string ResignLeader => $"DELETE FROM {s}.leader WHERE name = 'default' AND leader_id = $1";

    // Due scheduled and retryable jobs become available. One round trip per pass: returns the
    // queues that got jobs (notified here when $4, i.e. LISTEN/NOTIFY is in use, on channel $3)
    // and when the next job not staged now is due, so the stager knows how long to sleep.
    public string Stage => $"""
        WITH due AS (
            SELECT id, queue, state AS old_state, 'available'::{s}.job_state AS new_state FROM {s}.jobs
            WHERE state IN ('scheduled', 'retryable') AND scheduled_at <= $1
            ORDER BY scheduled_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED),
        staged AS (
            UPDATE {s}.jobs AS j SET state = 'available'
            WHERE j.id = ANY (ARRAY(SELECT id FROM due))
            RETURNING j.queue),
        {CountDeltas("due")},
        queues AS (SELECT DISTINCT queue FROM staged),
        notified AS (SELECT pg_notify($3, queue) FROM queues WHERE $4)
        SELECT ARRAY(SELECT queue FROM queues), (SELECT count(*) FROM due), (SELECT count(*) FROM notified),
               (SELECT min(scheduled_at) FROM {s}.jobs WHERE state IN ('scheduled', 'retryable') AND id <> ALL (ARRAY(SELECT id FROM due)))
        """;

    // Set by Wake on a running job: when it finishes (or snoozes) it runs once more at once,
    // so a wake-up that comes while the job is deciding to stop is never lost.
    private const string Rerun = "j.metadata ? 'rerun'";

    // A snoozing job (e.g. a batch waiting for its next dial slot) runs now instead; a running
    // one runs again as soon as this run ends.
    public string Wake => $"""
        WITH woken AS (
            UPDATE {s}.jobs SET state = 'available', scheduled_at = $2
            WHERE unique_key = $1 AND state = 'scheduled'
            RETURNING queue, 'scheduled'::{s}.job_state AS old_state, state AS new_state),
        flagged AS (
            UPDATE {s}.jobs SET metadata = metadata || '{RerunFlag}'
            WHERE unique_key = $1 AND state = 'running'
            RETURNING queue),
        {CountDeltas("woken")}
        SELECT queue FROM (SELECT queue, pg_notify($3, queue) FROM woken) w
        UNION ALL
        SELECT queue FROM flagged
        """;

    private const string RerunFlag = "{\"rerun\": true}";

    // Jobs whose worker stopped heartbeating (or never registered) are retried or, out of
    // attempts, discarded. A live worker's job is never touched, however long it runs.
    public string Rescue => $"""
        WITH rescued AS (
            UPDATE {s}.jobs AS j
            SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded'::{s}.job_state ELSE 'retryable'::{s}.job_state END,
                scheduled_at = $1,
                finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN $1 END,
                errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempt, 'at', $1, 'type', 'WorkerLost',
                    'message', 'worker ' || coalesce(j.attempted_by, '?') || ' stopped heartbeating while running this job', 'stack', NULL)),
                last_error = 'worker ' || coalesce(j.attempted_by, '?') || ' stopped heartbeating while running this job'
            WHERE j.state = 'running'
              AND NOT EXISTS (SELECT 1 FROM {s}.workers w WHERE w.id = j.attempted_by AND w.heartbeat_at >= $2)
            RETURNING j.id, j.queue, 'running'::{s}.job_state AS old_state, j.state AS new_state),
        {CountDeltas("rescued")}
        SELECT id FROM rescued
        """;

    public string ForgetDeadWorkers => $"DELETE FROM {s}.workers WHERE heartbeat_at < $1";

    public string Prune => $"""
        WITH pruned AS (
            DELETE FROM {s}.jobs WHERE id = ANY (ARRAY(
                SELECT id FROM {s}.jobs WHERE state = $1::{s}.job_state AND finalized_at < $2 ORDER BY id LIMIT $3))
            RETURNING queue, state AS old_state, NULL::{s}.job_state AS new_state),
        {CountDeltas("pruned")}
        SELECT count(*) FROM pruned
        """;

    public string PruneStats => $"DELETE FROM {s}.job_stats WHERE minute < $1";

    // Fold the insert-only count deltas into totals and per-minute history.
    public string FoldCounts => $"""
        WITH moved AS (
            DELETE FROM {s}.job_count_deltas RETURNING queue, state, delta, at),
        totals AS (
            INSERT INTO {s}.job_counts AS c (queue, state, count)
            SELECT queue, state, sum(delta) FROM moved GROUP BY queue, state
            ON CONFLICT (queue, state) DO UPDATE SET count = c.count + excluded.count)
        INSERT INTO {s}.job_stats AS st (minute, state, count)
        SELECT date_trunc('minute', at), state, sum(delta) FROM moved
        WHERE state IN ('completed', 'discarded') AND delta > 0
        GROUP BY 1, 2
        ON CONFLICT (minute, state) DO UPDATE SET count = st.count + excluded.count
        """;
}
