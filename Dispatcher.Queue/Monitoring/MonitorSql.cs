using Dispatcher.Queue.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Queue.Monitoring;

/// <summary>
/// Every statement of the monitoring and admin API. Times come in as parameters (from
/// TimeProvider), never from now(). Lists and bulk selections page by id descending with
/// "id &lt; $n" (never OFFSET) so a state filter walks the jobs_state_id_idx index.
/// </summary>
internal sealed class MonitorSql(string schema)
{
    private readonly string s = schema;
    // Its CountDeltas keeps job_count_deltas exact: every statement that changes jobs records its change.
    private readonly JobSql _jobs = new(schema);

    /// <summary>What a job summary reads: never args or errors (stack traces), only the latest message.</summary>
    public const string SummaryColumns =
        "id, kind, queue, state::text, priority, attempt, max_attempts, tags, created_at, scheduled_at, attempted_at, attempted_by, finalized_at, last_error";

    public static readonly JobState[] Unfinished = [JobState.Available, JobState.Scheduled, JobState.Running, JobState.Retryable];
    public static readonly JobState[] Retriable = [JobState.Scheduled, JobState.Retryable, JobState.Discarded, JobState.Cancelled, JobState.Completed];
    public static readonly JobState[] Deletable = [.. Enum.GetValues<JobState>().Where(state => state != JobState.Running)];

    // Folded totals plus the deltas not folded yet; never count(*) over jobs. Pairs that add up
    // to zero (every job moved on or was deleted) are left out.
    public string Counts => $"""
        SELECT queue, state::text, sum(count)::bigint FROM (
            SELECT queue, state, count FROM {s}.job_counts
            UNION ALL
            SELECT queue, state, delta FROM {s}.job_count_deltas) c
        GROUP BY queue, state
        HAVING sum(count) <> 0
        ORDER BY c.queue, c.state
        """;

    // Completed and discarded jobs per bucket of $3 starting at $1, up to $2: the folded
    // per-minute history plus what the deltas not folded yet add.
    public string Throughput => $"""
        SELECT date_bin($3, at, $1), state::text, sum(count)::bigint FROM (
            SELECT minute AS at, state, count FROM {s}.job_stats
            WHERE minute >= $1 AND minute < $2 AND state IN ('completed', 'discarded')
            UNION ALL
            SELECT at, state, delta FROM {s}.job_count_deltas
            WHERE at >= $1 AND at < $2 AND state IN ('completed', 'discarded') AND delta > 0) done
        GROUP BY 1, 2
        """;

    public string List(string where, string limit, bool newer = false) => $"""
        SELECT {SummaryColumns} FROM {s}.jobs
        WHERE {where}
        ORDER BY id {Order(newer)}
        LIMIT {limit}
        """;

    /// <summary>Older pages walk ids down from their keyset position, newer pages walk up.</summary>
    private static string Order(bool newer) => newer ? "ASC" : "DESC";

    // A bounded walk: the newest $window jobs matching "within" (state and keyset position, an
    // index walk that stops early), of which those matching "matching" (queue, kind, text) are
    // listed. The inner LIMIT keeps the planner on the ordered walk, which stops as soon as the
    // page is full; args is read for the text filter, never errors.
    public string ListWithin(string within, string window, string matching, string limit, bool newer = false) => $"""
        SELECT {SummaryColumns} FROM (
            SELECT {SummaryColumns.Replace("state::text", "state")}, args FROM {s}.jobs
            WHERE {within}
            ORDER BY id {Order(newer)}
            LIMIT {window}) walked
        WHERE {matching}
        ORDER BY id {Order(newer)}
        LIMIT {limit}
        """;

    // Where a bounded walk ended: its last id (the oldest walking down, the newest walking up),
    // and how many jobs it walked (fewer than the window means it reached the end). An index-only walk.
    public string WindowEnd(string within, string window, bool newer = false) => $"""
        SELECT coalesce({(newer ? "max" : "min")}(id), 0), count(*) FROM (
            SELECT id FROM {s}.jobs WHERE {within} ORDER BY id {Order(newer)} LIMIT {window}) walked
        """;

    public string MatchingIds(string where, string limit) => $"""
        SELECT id FROM {s}.jobs
        WHERE {where}
        ORDER BY id DESC
        LIMIT {limit}
        """;

    public string Get => $"""
        SELECT {SummaryColumns}, args::text, metadata::text, unique_key, errors::text
        FROM {s}.jobs WHERE id = $1
        """;

    public string Workers => $"""
        SELECT w.id, w.host, w.pid, w.queues::text, w.started_at, w.heartbeat_at,
               (SELECT count(*) FROM {s}.jobs j WHERE j.state = 'running' AND j.attempted_by = w.id)::int
        FROM {s}.workers w
        ORDER BY w.started_at, w.id
        """;

    // Jobs $1 that are not running (nor already available) run again now, with one more attempt
    // when theirs are spent. A job whose unique key a live job holds meanwhile stays as it is (one
    // live job per key); of several retried jobs sharing a key, the newest runs. The channel $3
    // is notified once per queue; the result is how many jobs changed.
    public string Retry => $"""
        WITH target AS (
            SELECT id, state, unique_key FROM {s}.jobs
            WHERE id = ANY($1) AND state IN ('scheduled', 'retryable', 'discarded', 'cancelled', 'completed')
            FOR UPDATE),
        allowed AS (
            SELECT id FROM target WHERE unique_key IS NULL
            UNION ALL
            SELECT max(t.id) FROM target t
            WHERE t.unique_key IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM {s}.jobs live
                  WHERE live.unique_key = t.unique_key AND live.id <> t.id
                    AND live.state IN ('available', 'scheduled', 'running', 'retryable'))
            GROUP BY t.unique_key),
        retried AS (
            UPDATE {s}.jobs AS j
            SET state = 'available', scheduled_at = $2, finalized_at = NULL,
                max_attempts = greatest(j.max_attempts, j.attempt + 1)
            FROM target JOIN allowed USING (id)
            WHERE j.id = target.id
            RETURNING j.queue, target.state AS old_state, j.state AS new_state),
        {_jobs.CountDeltas("retried")}
        SELECT coalesce(sum(jobs), 0)::int FROM (
            SELECT count(*) AS jobs, pg_notify($3, queue) FROM retried GROUP BY queue) per_queue
        """;

    // Unfinished jobs $1 end cancelled at $2 with the reason kept as an error. Each one that was
    // running is announced on channel $3 so the instance running it stops its handler.
    public string Cancel => $"""
        WITH target AS (
            SELECT id, state FROM {s}.jobs
            WHERE id = ANY($1) AND state IN ('available', 'scheduled', 'running', 'retryable')
            FOR UPDATE),
        cancelled AS (
            UPDATE {s}.jobs AS j
            SET state = 'cancelled', finalized_at = $2,
                errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempt, 'at', $2, 'type', 'Cancelled', 'message', 'cancelled by an operator', 'stack', NULL)),
                last_error = 'cancelled by an operator'
            FROM target
            WHERE j.id = target.id
            RETURNING j.id, j.queue, target.state AS old_state, j.state AS new_state),
        {_jobs.CountDeltas("cancelled")}
        SELECT count(*)::int, count(pg_notify($3, id::text)) FILTER (WHERE old_state = 'running')
        FROM cancelled
        """;

    // A running job is never deleted: cancel it first.
    public string Delete => $"""
        WITH deleted AS (
            DELETE FROM {s}.jobs WHERE id = ANY($1) AND state <> 'running'
            RETURNING queue, state AS old_state, NULL::{s}.job_state AS new_state),
        {_jobs.CountDeltas("deleted")}
        SELECT count(*)::int FROM deleted
        """;

    /// <summary>
    /// The conditions of <paramref name="filter"/>, plus "state in <paramref name="states"/>" and
    /// "id &lt; <paramref name="beforeId"/>" and "id &gt; <paramref name="afterId"/>" when given, appending their values to <paramref name="parameters"/>.
    /// Only set conditions are written, so the planner sees "state = $n" and can use jobs_state_id_idx.
    /// </summary>
    public string Where(JobFilter filter, IReadOnlyCollection<JobState>? states, long? beforeId, List<NpgsqlParameter> parameters,
        long? afterId = null)
    {
        var conditions = new List<string>();
        if (filter.State is { } state)
            conditions.Add($"state = {Add(parameters, state.ToDb(), NpgsqlDbType.Text)}::{s}.job_state");
        if (states is not null)
            conditions.Add($"state = ANY({Add(parameters, states.Select(x => x.ToDb()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)}::{s}.job_state[])");
        if (filter.Queue is not null)
            conditions.Add($"queue = {Add(parameters, filter.Queue, NpgsqlDbType.Text)}");
        if (filter.Kind is not null)
            conditions.Add($"kind = {Add(parameters, filter.Kind, NpgsqlDbType.Text)}");
        if (!string.IsNullOrEmpty(filter.Text))
            conditions.Add($"args::text ILIKE {Add(parameters, "%" + EscapeLike(filter.Text) + "%", NpgsqlDbType.Text)}");
        if (beforeId is { } before)
            conditions.Add($"id < {Add(parameters, before, NpgsqlDbType.Bigint)}");
        if (afterId is { } after)
            conditions.Add($"id > {Add(parameters, after, NpgsqlDbType.Bigint)}");
        return conditions.Count == 0 ? "true" : string.Join(" AND ", conditions);
    }

    /// <summary>Adds a parameter and returns its placeholder.</summary>
    public static string Add(List<NpgsqlParameter> parameters, object value, NpgsqlDbType type)
    {
        parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        return "$" + parameters.Count;
    }

    /// <summary>User text matched literally by LIKE: its wildcards and the escape character are escaped.</summary>
    public static string EscapeLike(string text) =>
        text.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");
}
