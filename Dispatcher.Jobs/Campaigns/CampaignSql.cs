namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// The campaign statements, in one place. Every contact move is one statement that also changes
/// its batches' counters (a data-modifying CTE on call_batches, see <see cref="Counted"/>), so the
/// counters change atomically with the move. Times are parameters (TimeProvider).
///
/// A statement that moves one contact, and the reservation and completion of one batch, find
/// their row by the key alone and lock it (<see cref="LockedContact"/>, <see cref="LockedBatch"/>),
/// then check its state on what that returned. With the state in the look-up itself, the cached
/// generic plans walked a partial index whose predicate that state implies, planned while the
/// index was small: every live call (campaign_contacts_live_idx) for each call's record and end,
/// every dialling batch (call_batches_undialled_idx) for each reservation. At 200-300 batches
/// that was 150-370 buffers a statement, growing with the campaign.
/// </summary>
internal static class CampaignSql
{
    public const string Live = "b.dialing + b.in_progress + b.unknown";

    // The contact $1, found by its key and locked (its latest version, once a concurrent move has
    // committed); MATERIALIZED keeps the state checks of the statement out of its look-up.
    private const string LockedContact = "locked AS MATERIALIZED (SELECT * FROM campaign_contacts WHERE id = $1 FOR UPDATE)";

    // The same for the batch $1.
    private const string LockedBatch = "locked AS MATERIALIZED (SELECT * FROM call_batches WHERE id = $1 FOR UPDATE)";

    private static readonly string[] States = ["pending", "queued", "dialing", "in_progress", "unknown", "completed", "failed", "cancelled", "suppressed"];

    // A stop of all agencies, or of this batch's agency ($agency), is in force (a few rows at most).
    private static string Stopped(string agency) =>
        $"EXISTS (SELECT 1 FROM dispatch_stops s WHERE s.resumed_at IS NULL AND coalesce(s.agency_id, {agency}) = {agency})";

    // Net change per batch and state of the contacts in `moved` (columns batch_id, old_status, status).
    private static string Deltas(string moved) => $"""
        SELECT batch_id, {string.Join(", ", States.Select(s => $"count(*) FILTER (WHERE status = '{s}') - count(*) FILTER (WHERE old_status = '{s}') AS {s}"))}
        FROM {moved} GROUP BY batch_id
        """;

    // SET items adding the deltas d (null: nothing moved) to the counters of call_batches b.
    private static readonly string AddDeltas = string.Join(", ", States.Select(s => $"{s} = b.{s} + coalesce(d.{s}, 0)"));

    // How a move of one contact (a row d of `moved`) changes the count of state s.
    private static string MovedOne(string s) => $"(d.status = '{s}')::int - (d.old_status = '{s}')::int";

    // SET items adding the move of one contact d to the counters of call_batches b.
    private static readonly string AddMovedOne = string.Join(", ", States.Select(s => $"{s} = b.{s} + {MovedOne(s)}"));

    // The batch row may be updated once per statement, so whatever else a move changes on it
    // (pace, completion) goes into this one UPDATE as `alsoSet`.
    private static string Counted(string moved, string alsoSet = "", string returning = "") =>
        CountedFrom($"({Deltas(moved)}) d", AddDeltas, alsoSet, returning);

    // The same for a statement that moves one contact at most: its row is the delta. Grouping a
    // single row (an aggregate of eighteen filters and a sort to set up and run) was a measurable
    // part of the two statements every dial makes after its reservation.
    private static string CountedOne(string moved, string alsoSet = "", string returning = "") =>
        CountedFrom($"{moved} d", AddMovedOne, alsoSet, returning);

    private static string CountedFrom(string deltas, string addDeltas, string alsoSet, string returning) => $"""
        counted AS (
            UPDATE call_batches b SET {addDeltas}{alsoSet}
            FROM {deltas}
            WHERE b.id = d.batch_id
            {returning})
        """;

    // A dialer's lease is renewed (to $4) when it has less than 20 s left: more than a dial job ever
    // waits in-process between two reservations (HoldLimit, FullHold: 15 s), so a dial job that is
    // alive never loses its batch to the tick. Not at every dial: the lease's column is indexed (the
    // tick's look-up of undialled batches), so moving it made every reservation's update of the
    // batch row a non-HOT one, with a new entry in each of the table's indexes.
    private const string LeaseRunningOut = "b.dialer_lease_until < $2 + interval '20 seconds'";
    private const string RenewedLease = $"CASE WHEN {LeaseRunningOut} THEN $4 ELSE b.dialer_lease_until END";

    // Dial protocol step 1: when the batch may dial now (processing, agency not rate-limited nor
    // stopped, its pace slot reached, a concurrency slot free) and this run ($3) is still its dialer,
    // take its next queued contact whose calling window is open (soonest closing first), count the
    // attempt and move the pace slot on. A contact on the agency's do-not-call list is marked
    // suppressed instead, spending neither attempt nor pace slot: this check and the stop's sit in
    // the statement that reserves, so nothing suppressed or stopped before it is ever dialled. The
    // row lock on the batch serialises instances (and a stop, which updates the batch row). The
    // dialer's lease is renewed as above, whether this reserves or not. Returns the batch as the
    // dialler sees it (after the reservation, if one was made) and the reserved contact, if any:
    // one row whenever the batch exists.
    public static readonly string Reserve = $"""
        WITH {LockedBatch},
        -- The batch as this reservation has it locked, with its agency's rate limit and stops.
        state AS (
            SELECT b.id, b.status, b.scheduled_for, b.next_dial_at, a.rate_limited_until, {Live} AS live, b.max_concurrent, b.queued,
                   b.agency_id, b.agent_mapping_id, b.dialing, b.dialer IS NOT DISTINCT FROM $3 AS owned, b.name, b.last_error,
                   {Stopped("b.agency_id")} AS stopped, b.calls_per_minute
            FROM locked b JOIN agencies a ON a.id = b.agency_id),
        batch AS (
            SELECT id, agency_id, coalesce(next_dial_at, $2) AS slot FROM state
            WHERE status = 'processing' AND owned
              AND (rate_limited_until IS NULL OR rate_limited_until <= $2)
              AND (next_dial_at IS NULL OR next_dial_at <= $2)
              AND live < max_concurrent
              AND NOT stopped),
        contact AS (
            SELECT c.id, c.phone_number FROM campaign_contacts c
            WHERE c.batch_id = (SELECT id FROM batch) AND c.status = 'queued' AND c.window_closes_at > $2 AND c.window_opens_at <= $2
            ORDER BY c.window_closes_at, c.id LIMIT 1
            FOR UPDATE SKIP LOCKED),
        -- MATERIALIZED: inlined, the probe ran once for each of the three uses of `suppressed` below.
        listed AS MATERIALIZED (
            SELECT k.id, EXISTS (SELECT 1 FROM do_not_call d
                                 WHERE d.agency_id = (SELECT agency_id FROM batch) AND d.phone_number = k.phone_number AND d.removed_at IS NULL) AS suppressed
            FROM contact k),
        dialing AS (
            UPDATE campaign_contacts c
            SET status = CASE WHEN l.suppressed THEN 'suppressed' ELSE 'dialing' END,
                attempts = c.attempts + CASE WHEN l.suppressed THEN 0 ELSE 1 END,
                last_error = CASE WHEN l.suppressed THEN 'on the agency''s do-not-call list at dial time: not called' ELSE c.last_error END,
                status_changed_at = $2, updated_at = $2
            FROM listed l WHERE c.id = l.id
            RETURNING c.id, c.phone_number, c.name, c.variables, c.attempts, c.status),
        -- The one contact locked above was queued and is now dialing (or suppressed): the counters
        -- follow here. Without one, only a lease running out is renewed (one update for both: a
        -- second one on the batch cost every reservation its set-up and run).
        paced AS (
            UPDATE call_batches b
            SET next_dial_at = CASE WHEN d.status = 'dialing'
                                    THEN greatest(coalesce(b.next_dial_at, $2), $2) + make_interval(secs => 60.0 / b.calls_per_minute)
                                    ELSE b.next_dial_at END,
                queued = b.queued - (d.id IS NOT NULL)::int, dialing = b.dialing + (d.status IS NOT DISTINCT FROM 'dialing')::int,
                suppressed = b.suppressed + (d.status IS NOT DISTINCT FROM 'suppressed')::int,
                dialer_lease_until = {RenewedLease}, updated_at = CASE WHEN d.id IS NULL THEN b.updated_at ELSE $2 END
            FROM state s LEFT JOIN dialing d ON true
            WHERE b.id = s.id AND (d.id IS NOT NULL OR (s.owned AND {LeaseRunningOut}))
            RETURNING b.next_dial_at, {Live} AS live, b.queued, b.dialing)
        SELECT s.status, s.scheduled_for, coalesce(p.next_dial_at, s.next_dial_at), s.rate_limited_until, coalesce(p.live, s.live), s.max_concurrent,
               coalesce(p.queued, s.queued), s.agency_id, s.agent_mapping_id, coalesce(p.dialing, s.dialing),
               d.id, d.phone_number, d.name, d.variables::text, d.attempts, (SELECT slot FROM batch), s.owned, s.name, s.last_error,
               d.status = 'suppressed', s.stopped, s.calls_per_minute
        FROM state s LEFT JOIN dialing d ON true LEFT JOIN paced p ON true
        """;

    // Queued contacts of a batch whose window has closed (or was never worked out), for the dialer
    // to give them their next one; $3 caps one round.
    public const string ClosedWindows = """
        SELECT id, phone_number, time_zones FROM campaign_contacts
        WHERE batch_id = $1 AND status = 'queued' AND window_closes_at <= $2
        ORDER BY window_closes_at, id LIMIT $3
        """;

    public const string SetWindows = """
        UPDATE campaign_contacts c
        SET window_opens_at = w.opens_at, window_closes_at = w.closes_at,
            time_zones = CASE WHEN cardinality(c.time_zones) = 0 THEN string_to_array(w.zones, ',') ELSE c.time_zones END
        FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[]) AS w(id, opens_at, closes_at, zones)
        WHERE c.id = w.id AND c.status = 'queued'
        """;

    // At import ($1 the new batch, $3 its agency): contacts whose number is on the agency's do-not-call list.
    public static readonly string SuppressListed = $"""
        WITH moved AS (
            UPDATE campaign_contacts c SET status = 'suppressed', last_error = 'on the agency''s do-not-call list at import: not called',
                   status_changed_at = $2, updated_at = $2
            FROM do_not_call d
            WHERE c.batch_id = $1 AND c.status = 'pending' AND d.agency_id = $3 AND d.phone_number = c.phone_number AND d.removed_at IS NULL
            RETURNING c.batch_id, 'pending'::text AS old_status, c.status),
        {Counted("moved")}
        SELECT count(*) FROM moved
        """;

    // When the first queued contact's window opens (now or later), if any is queued.
    public const string NextWindow = """
        SELECT min(greatest(window_opens_at, $2)) FROM campaign_contacts
        WHERE batch_id = $1 AND status = 'queued' AND window_closes_at > $2
        """;

    // The calling hours the contacts of batches $1 are judged by: each batch's own, its agency's (NULL: the service's).
    public const string HoursOfBatches = """
        SELECT b.id, b.calling_start_minute, b.calling_end_minute, b.calling_days, a.calling_start_minute, a.calling_end_minute, a.calling_days
        FROM call_batches b JOIN agencies a ON a.id = b.agency_id WHERE b.id = ANY ($1)
        """;

    // A run of a dial job takes the batch ($2 = 'JOB/RUN') when nobody dials it, its dialer's
    // lease has passed, or it was handed to this job ($3 = 'JOB'). Returns the batch's name and
    // whether it had been handed to this job.
    public const string ClaimDialer = """
        WITH before AS (SELECT id, dialer FROM call_batches WHERE id = $1 FOR UPDATE)
        UPDATE call_batches b SET dialer = $2, dialer_lease_until = $4
        FROM before
        WHERE b.id = before.id AND (before.dialer IS NULL OR before.dialer = $3 OR b.dialer_lease_until < $5)
        RETURNING b.name, before.dialer IS NOT DISTINCT FROM $3
        """;

    // A batch failed for want of credentials goes on when its dial job ($2, the dialer) is requeued.
    public const string Revive = """
        UPDATE call_batches SET status = 'processing', last_error = NULL, completed_at = NULL, updated_at = $3
        WHERE id = $1 AND status = 'failed' AND dialer = $2
        """;

    // The dialer $2 hands the batch on: to a job that has not started ($3 = 'JOB', with a lease
    // until it should have), or to nobody ($3 NULL). Returns the batch's queued contacts and
    // whether a concurrency slot is free: what came back meanwhile needs a dialer.
    public const string HandOffDialer = $"""
        UPDATE call_batches b SET dialer = $3, dialer_lease_until = $4
        WHERE b.id = $1 AND b.dialer = $2
        RETURNING b.queued, {Live} < b.max_concurrent
        """;

    // A new job ($2 = 'JOB') becomes the dialer of a batch nobody dials.
    public const string AdoptDialer = """
        UPDATE call_batches SET dialer = $2, dialer_lease_until = $3
        WHERE id = $1 AND (dialer IS NULL OR dialer_lease_until < $4)
        """;

    // The batches whose dialer is one of the jobs $1 (that have not started).
    public const string BatchesOfDialers = "SELECT id, name, dialer FROM call_batches WHERE dialer = ANY ($1)";

    // The not-started job $2 is replaced by the job $3 as the batch's dialer.
    public const string SupersedeDialer = "UPDATE call_batches SET dialer = $3, dialer_lease_until = $4 WHERE id = $1 AND dialer = $2";

    public const string DialerOf = "SELECT dialer, dialer_lease_until, status, name FROM call_batches WHERE id = $1";

    // A pending or scheduled batch due by $3 ($2 is now) starts: processing, its pending contacts
    // queued. One due within the lead starts before its time, so that queueing its contacts (a
    // row each) is done when its time comes: its first slot (next_dial_at) and started_at are its
    // scheduled time, and the pace holds the first dial until then.
    public static readonly string Start = $"""
        WITH due AS (
            SELECT id FROM call_batches
            WHERE id = ANY ($1) AND status IN ('pending', 'scheduled') AND (scheduled_for IS NULL OR scheduled_for <= $3)
            FOR UPDATE),
        moved AS (
            UPDATE campaign_contacts SET status = 'queued', status_changed_at = $2, updated_at = $2
            WHERE batch_id IN (SELECT id FROM due) AND status = 'pending'
            RETURNING batch_id, 'pending'::text AS old_status, status)
        UPDATE call_batches b SET status = 'processing', started_at = coalesce(b.started_at, greatest(b.scheduled_for, $2)),
            next_dial_at = CASE WHEN b.scheduled_for > $2 THEN greatest(b.next_dial_at, b.scheduled_for) ELSE b.next_dial_at END,
            updated_at = $2, {AddDeltas}
        FROM due LEFT JOIN ({Deltas("moved")}) d ON d.batch_id = due.id
        WHERE b.id = due.id
        """;

    // The tick: due batches to start, and processing ones that nobody dials (no dialer, or its
    // lease has passed: the job was lost, or its instance killed) while something waits for a
    // dialer: queued contacts, dials interrupted, or nothing left, so the batch completes.
    public const string DueBatches = """
        SELECT id, name FROM call_batches
        WHERE (status IN ('pending', 'scheduled') AND (scheduled_for IS NULL OR scheduled_for <= $1) AND (dialer IS NULL OR dialer_lease_until < $1))
           OR (status = 'processing' AND (dialer IS NULL OR dialer_lease_until < $1)
               AND (queued > 0 OR dialing > 0 OR pending + queued + dialing + in_progress + unknown = 0))
        ORDER BY dialer_lease_until NULLS FIRST, id
        LIMIT $2
        """;

    // Dials a previous run of process-batch left half-done (its worker died or was stopped
    // mid-request): their outcome is unknown, so they are looked up, never dialled again blindly.
    // $3 is the contact this run has just reserved, if any.
    public static readonly string Interrupted = $"""
        WITH interrupted AS (
            UPDATE campaign_contacts SET status = 'unknown', last_error = 'dial interrupted: the worker stopped during the request', status_changed_at = $2, updated_at = $2
            WHERE batch_id = $1 AND status = 'dialing' AND id <> $3
            RETURNING id, attempts, batch_id, 'dialing'::text AS old_status, status),
        {Counted("interrupted")}
        SELECT id, attempts FROM interrupted
        """;

    // The pace counts from when a request actually went out ($sent), not only from its
    // reservation: a slow first request (cold caches, a new connection) must not let the next
    // one follow too closely. One dialler per batch at a time (its unique job) makes this exact.
    private static string PacedFromSend(string sent) =>
        $", next_dial_at = greatest(b.next_dial_at, {sent}::timestamptz + make_interval(secs => 60.0 / b.calls_per_minute))";

    // Step 3, created: the contact is in a call; the call is recorded. $6 is when the request went
    // out. Returns the batch's next pace slot, so the dialler can sleep without asking again.
    private static string CreatedSql(string select) => $"""
        WITH {LockedContact},
        target AS (SELECT id, status AS old_status FROM locked WHERE attempts = $3 AND status IN ('dialing', 'unknown')),
        started AS (
            UPDATE campaign_contacts c SET status = 'in_progress', call_id = $2, last_error = NULL, status_changed_at = $4, updated_at = $4
            FROM target t WHERE c.id = t.id
            RETURNING c.id, c.batch_id, t.old_status, c.status),
        {CountedOne("started", PacedFromSend("$6"), "RETURNING b.next_dial_at")},
        -- A call.ended that came first (the contact has moved on) recorded the call without its
        -- slot and send time: they are added. Its row may have committed after this statement
        -- began, while it waited for the contact's lock; only the conflict check sees it then.
        recorded AS (
            INSERT INTO calls AS k (ultravox_call_id, batch_id, contact_id, attempt, status, created_at, dial_slot, dialed_at, metadata)
            SELECT $2, batch_id, id, $3, 'started', $4, $5, $6, $7::jsonb FROM locked WHERE attempts = $3
            ON CONFLICT (ultravox_call_id) DO UPDATE SET dial_slot = coalesce(k.dial_slot, excluded.dial_slot), dialed_at = coalesce(k.dialed_at, excluded.dialed_at))
        {select}
        """;

    public static readonly string Created = CreatedSql("SELECT (SELECT next_dial_at FROM counted)");

    // The dialler's Created commits without waiting for its WAL flush (set_config(..., true)
    // lasts only for this statement's transaction). Losing it is harmless: only a crash of the
    // database server loses it, and then the contact is still 'dialing' from its reservation,
    // which did wait for its flush before the request went out. The batch's next run finds that
    // dial interrupted and looks the call up by its metadata (RecoverInterrupted, then
    // resolve-contact), so the contact is never dialled again blindly; a webhook finishes a
    // 'dialing' contact as well. The pace holds: the reservation already moved the slot one
    // interval on, and only the push to "sent + interval" (milliseconds later) can be lost, while
    // a server restart takes seconds. Whatever builds on this row later (call.ended, the job's
    // completion) commits with a flush, which makes this commit's WAL durable too.
    public static readonly string CreatedWithoutFlushWait =
        CreatedSql("SELECT (SELECT next_dial_at FROM counted), set_config('synchronous_commit', 'off', true)");

    // A reserved contact that was never dialled waits again, its attempt given back.
    private const string Back = """
        back AS (
            UPDATE campaign_contacts c SET status = 'queued', attempts = c.attempts - 1, status_changed_at = $2, updated_at = $2
            FROM locked l WHERE c.id = l.id AND l.status = 'dialing'
            RETURNING c.batch_id, 'dialing'::text AS old_status, c.status)
        """;

    public static readonly string Release = $"""
        WITH {LockedContact}, {Back},
        {CountedOne("back")}
        SELECT count(*) FROM back
        """;

    // Step 3, 429/503: nothing was created; the contact is released and the whole agency
    // pauses until Retry-After.
    public static readonly string RateLimited = $"""
        WITH {LockedContact}, {Back},
        {CountedOne("back")}
        UPDATE agencies SET rate_limited_until = greatest(coalesce(rate_limited_until, $3), $3), updated_at = $2
        WHERE id = (SELECT agency_id FROM call_batches WHERE id = $4)
        """;

    // A definite no (4xx, invalid number): the contact fails with the reason. $4: when the request went out.
    public static readonly string Rejected = $"""
        WITH {LockedContact},
        target AS (SELECT id, status AS old_status FROM locked WHERE status IN ('dialing', 'unknown')),
        failed AS (
            UPDATE campaign_contacts c SET status = 'failed', last_error = $2, status_changed_at = $3, updated_at = $3
            FROM target t WHERE c.id = t.id
            RETURNING c.batch_id, t.old_status, c.status),
        {CountedOne("failed", PacedFromSend("$4"))}
        SELECT count(*) FROM failed
        """;

    // Timeout, lost connection, 5xx: the call may exist. Never dial again before looking it up.
    public static readonly string Unknown = $"""
        WITH {LockedContact},
        unsure AS (
            UPDATE campaign_contacts c SET status = 'unknown', last_error = $2, status_changed_at = $3, updated_at = $3
            FROM locked l WHERE c.id = l.id AND l.status = 'dialing'
            RETURNING c.batch_id, 'dialing'::text AS old_status, c.status),
        {CountedOne("unsure", PacedFromSend("$4"))}
        SELECT count(*) FROM unsure
        """;

    // An unknown outcome whose call never turned up: another attempt if allowed, else failed.
    public static readonly string GiveUp = $"""
        WITH {LockedContact},
        settled AS (
            UPDATE campaign_contacts c
            SET status = CASE WHEN c.attempts < b.max_attempts + c.extra_attempts THEN 'queued' ELSE 'failed' END,
                last_error = $3, status_changed_at = $4, updated_at = $4
            FROM locked l JOIN call_batches b ON b.id = l.batch_id
            WHERE c.id = l.id AND l.attempts = $2 AND l.status = 'unknown'
            RETURNING c.batch_id, 'unknown'::text AS old_status, c.status),
        {CountedOne("settled")}
        SELECT status FROM settled
        """;

    // Nothing left to dial or waiting on a call, once the move of one contact d is counted.
    private static readonly string NothingLeft =
        string.Join(" + ", new[] { "pending", "queued", "dialing", "in_progress", "unknown" }.Select(s => $"b.{s} + {MovedOne(s)}")) + " = 0";

    private static readonly string CompleteWhenNothingLeft = $"""
        , status = CASE WHEN b.status = 'processing' AND {NothingLeft} THEN 'completed' ELSE b.status END,
          completed_at = CASE WHEN b.status = 'processing' AND {NothingLeft} THEN $5 ELSE b.completed_at END,
          updated_at = CASE WHEN b.status = 'processing' AND {NothingLeft} THEN $5 ELSE b.updated_at END
        """;

    // Step 4: the call ended. Hang-ups complete the contact; anything else fails it, or queues it
    // again while attempts remain. Only the contact's current attempt, still live, is touched,
    // so duplicate and stale deliveries change nothing. A batch with nothing left completes in
    // the same statement; returns the batch's state after, for the decision to wake its job.
    // It commits without waiting for its WAL flush, like the dialler's Created: only a crash of
    // the database server loses it, and then the contact is still in its call, which the
    // reconciliation looks up once it has been live for ReconcileAfter (the webhook, answered
    // 200, is not sent again). What builds on it (a failed call's job, the next reservation of
    // a contact queued again) commits with a flush, which makes this one durable too.
    public static readonly string CallEnded = $"""
        WITH {LockedContact},
        target AS (
            SELECT c.id, c.batch_id, c.attempts, c.status AS old_status, b.max_attempts + c.extra_attempts AS max_attempts
            FROM locked c JOIN call_batches b ON b.id = c.batch_id
            WHERE c.attempts = $2 AND c.status IN ('dialing', 'in_progress', 'unknown')),
        finished AS (
            UPDATE campaign_contacts c
            SET status = CASE WHEN $4 IN ('hangup', 'agent_hangup') THEN 'completed'
                              WHEN t.attempts < t.max_attempts THEN 'queued' ELSE 'failed' END,
                call_id = $3,
                last_error = CASE WHEN $4 IN ('hangup', 'agent_hangup') THEN NULL ELSE 'call ended: ' || $4 END,
                status_changed_at = $5, updated_at = $5
            FROM target t WHERE c.id = t.id
            RETURNING c.id, c.batch_id, t.old_status, c.status),
        recorded AS (
            INSERT INTO calls AS k (ultravox_call_id, batch_id, contact_id, attempt, status, end_reason, created_at, joined_at, ended_at, metadata)
            SELECT $3, batch_id, id, $2, 'ended', $4, coalesce($6, $5), $7, coalesce($8, $5), $9::jsonb FROM finished
            ON CONFLICT (ultravox_call_id) DO UPDATE
            SET status = 'ended', end_reason = excluded.end_reason, joined_at = coalesce(k.joined_at, excluded.joined_at), ended_at = excluded.ended_at),
        {CountedOne("finished", CompleteWhenNothingLeft, $"RETURNING b.status, b.queued, {Live} AS live, b.max_concurrent")}
        SELECT f.batch_id, f.status, k.status, k.queued, k.live, k.max_concurrent, set_config('synchronous_commit', 'off', true)
        FROM finished f, counted k
        """;

    // A batch is done when nothing is left to dial or waiting on a call. Returns its state after.
    public const string CompleteIfDone = $"""
        WITH {LockedBatch},
        done AS (
            UPDATE call_batches b SET status = 'completed', completed_at = $2, updated_at = $2
            FROM locked l
            WHERE b.id = l.id AND l.status = 'processing' AND l.pending + l.queued + l.dialing + l.in_progress + l.unknown = 0
            RETURNING b.id)
        SELECT b.status, b.queued, {Live}, b.max_concurrent, EXISTS (SELECT 1 FROM done)
        FROM locked b
        """;

    // Operator actions (Batches). Cancel: queued and pending contacts are cancelled with the batch.
    public static readonly string Cancel = $"""
        WITH target AS (
            SELECT id FROM call_batches WHERE id = $1 AND status IN ('pending', 'scheduled', 'processing', 'paused')
            FOR UPDATE),
        waiting AS (
            SELECT id, status AS old_status FROM campaign_contacts
            WHERE batch_id IN (SELECT id FROM target) AND status IN ('pending', 'queued')
            FOR UPDATE),
        moved AS (
            UPDATE campaign_contacts c SET status = 'cancelled', status_changed_at = $2, updated_at = $2
            FROM waiting w WHERE c.id = w.id
            RETURNING c.batch_id, w.old_status, c.status)
        UPDATE call_batches b SET status = 'cancelled', completed_at = $2, updated_at = $2, {AddDeltas}
        FROM target LEFT JOIN ({Deltas("moved")}) d ON d.batch_id = target.id
        WHERE b.id = target.id
        """;

    // Retry failed: the batch's failed contacts are queued again (the batch is made processing
    // first, in the same transaction, unless paused: then they wait for the resume). Returns how
    // many, and the failed jobs that stood for them, which leave Hangfire's Failed list.
    public static readonly string RequeueFailed = $"""
        WITH target AS (
            SELECT id, failed_job_id FROM campaign_contacts
            WHERE batch_id = $1 AND status = 'failed' AND EXISTS (SELECT 1 FROM call_batches WHERE id = $1 AND status IN ('processing', 'paused'))
            FOR UPDATE),
        moved AS (
            UPDATE campaign_contacts c SET status = 'queued', last_error = NULL, failed_job_id = NULL, requeued_at = $2, requeued_by = $3,
                   status_changed_at = $2, updated_at = $2
            FROM target t WHERE c.id = t.id
            RETURNING c.batch_id, 'failed'::text AS old_status, c.status, t.failed_job_id),
        {Counted("moved")}
        SELECT count(*)::int, coalesce(array_agg(failed_job_id) FILTER (WHERE failed_job_id IS NOT NULL), ARRAY[]::text[]) FROM moved
        """;

    private const string ReopenFinished = """
        , status = CASE WHEN b.status IN ('completed', 'failed') THEN 'processing' ELSE b.status END,
          completed_at = CASE WHEN b.status IN ('completed', 'failed') THEN NULL ELSE b.completed_at END,
          last_error = CASE WHEN b.status IN ('completed', 'failed') THEN NULL ELSE b.last_error END
        """;

    // An operator requeued the failed job $2 of contact $1: the contact waits for a dial again,
    // allowed one more attempt even past the batch's max_attempts, and a finished batch goes on.
    // Only while that job still stands for the contact, so a second click changes nothing.
    public static readonly string RequeueFailedContact = $"""
        WITH {LockedContact},
        target AS (
            SELECT c.id, c.attempts, b.max_attempts FROM locked c JOIN call_batches b ON b.id = c.batch_id
            WHERE c.status = 'failed' AND c.failed_job_id = $2 AND b.status IN ('processing', 'paused', 'completed', 'failed')),
        moved AS (
            UPDATE campaign_contacts c
            SET status = 'queued', last_error = NULL, failed_job_id = NULL, extra_attempts = greatest(c.extra_attempts, t.attempts + 1 - t.max_attempts),
                requeued_at = $3, requeued_by = $4, status_changed_at = $3, updated_at = $3
            FROM target t WHERE c.id = t.id
            RETURNING c.batch_id, 'failed'::text AS old_status, c.status),
        {CountedOne("moved", ReopenFinished)}
        SELECT batch_id FROM moved
        """;

    // A contact that has just failed for good, not yet stood for by a failed job: what its job says.
    public const string FailedContact = """
        SELECT c.attempts, b.max_attempts + c.extra_attempts, c.last_error, b.id, b.name
        FROM campaign_contacts c JOIN call_batches b ON b.id = c.batch_id
        WHERE c.id = $1 AND c.status = 'failed' AND c.failed_job_id IS NULL
        """;

    public const string RecordFailedJob = "UPDATE campaign_contacts SET failed_job_id = $2 WHERE id = $1 AND status = 'failed' AND failed_job_id IS NULL";

    // Failed contacts whose failed job was never made (the service stopped in between), for the tick.
    public const string FailedWithoutJob = "SELECT id FROM campaign_contacts WHERE status = 'failed' AND failed_job_id IS NULL ORDER BY id LIMIT $1";

    // The failed job of one failed contact of a batch, which an operator requeues from the batch's page.
    public const string FailedJobOfContact = "SELECT failed_job_id FROM campaign_contacts WHERE id = $1 AND batch_id = $2 AND status = 'failed'";

    // The failed jobs of a cancelled batch's contacts, which leave the Failed list with it.
    public const string FailedJobsOfBatch = "SELECT failed_job_id FROM campaign_contacts WHERE batch_id = $1 AND status = 'failed' AND failed_job_id IS NOT NULL";

    public const string FailBatch = """
        UPDATE call_batches SET status = 'failed', last_error = $2, completed_at = $3, updated_at = $3
        WHERE id = $1 AND status NOT IN ('completed', 'cancelled', 'failed')
        """;

    public const string ContactForLookup = """
        SELECT c.status, c.attempts, c.call_id, c.status_changed_at, b.agency_id, b.agent_mapping_id, b.id
        FROM campaign_contacts c JOIN call_batches b ON b.id = c.batch_id
        WHERE c.id = $1
        """;

    // The two look-ups of the reconciliation find their contacts through the batches that count
    // one in that state (the counters are exact), then each such batch's contacts in it
    // (campaign_contacts_batch_idx): an index of every live contact of its own cost each dial two
    // more index entries, for a look-up made every few minutes.

    // Dials of unknown outcome left since $1: their look-up was never made or is lost.
    public const string StaleUnknown = """
        SELECT c.id, c.attempts
        FROM call_batches b JOIN campaign_contacts c ON c.batch_id = b.id AND c.status = 'unknown'
        WHERE b.unknown > 0 AND c.status_changed_at < $1
        ORDER BY c.status_changed_at
        LIMIT $2
        """;

    // Calls in progress for long: their webhook may be lost.
    public const string StaleCalls = """
        SELECT c.id, c.attempts, c.call_id, b.agency_id, b.agent_mapping_id
        FROM call_batches b JOIN campaign_contacts c ON c.batch_id = b.id AND c.status = 'in_progress'
        WHERE b.in_progress > 0 AND c.status_changed_at < $1 AND c.call_id IS NOT NULL
        ORDER BY c.status_changed_at
        LIMIT $2
        """;
}
