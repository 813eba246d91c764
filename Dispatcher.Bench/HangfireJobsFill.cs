using Dispatcher.Jobs.HangfireJobs;
using Hangfire;
using Npgsql;

namespace Dispatcher.Bench;

/// <summary>
/// Fills Hangfire's tables in bulk (INSERT ... SELECT generate_series, not through its client) with
/// jobs of ours as Hangfire stores them: the invocation data is copied from one job of each kind
/// scheduled through IBackgroundJobClient, and their arguments are checked against the shape the
/// fill writes. Per job: its Enqueued, Processing and final state rows and its culture parameters;
/// then the stats counters Hangfire's home page and /stats read, a few scheduled jobs (with their
/// 'schedule' set entries, due in days so the scheduler leaves them) and a few processing ones.
/// </summary>
public sealed class HangfireJobsFill(NpgsqlDataSource dataSource, string schema)
{
    private const int Chunk = 100_000;

    /// <summary>Scheduled and processing jobs beyond the succeeded and failed ones, so that those lists have pages too.</summary>
    public const int Scheduled = 1_000, Processing = 100;

    // What a worker's exception looks like in state.data: a real type, message and stack trace, as Hangfire records it.
    private const string HttpFailureDetails = """
        System.Net.Http.HttpRequestException: Response status code does not indicate success: 503 (Service Unavailable).
           at System.Net.Http.HttpResponseMessage.EnsureSuccessStatusCode()
           at RestSharp.RestResponse.ThrowIfError()
           at Dispatcher.Jobs.Telephony.ProviderHttp.SendAsync(RestClient rest, RestRequest http, TimeSpan timeout, TimeProvider clock, CancellationToken ct)
           at Dispatcher.Jobs.Campaigns.Ultravox.UltravoxClient.CreateCallAsync(UltravoxCallRequest request, CancellationToken ct)
           at Dispatcher.Jobs.Campaigns.BatchDialer.DialOneAsync(BatchRow batch, ContactRow contact, CancellationToken ct)
           at Dispatcher.Jobs.Campaigns.BatchDialer.RunAsync(Int64 batchId, String jobId, CancellationToken ct)
           at Dispatcher.Jobs.HangfireJobs.DialBatchJob.Run(Int64 batchId, String batchName, PerformContext context, CancellationToken cancellationToken)
           at System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)
           at Hangfire.Server.CoreBackgroundJobPerformer.InvokeMethod(PerformContext context, Object instance, Object[] arguments)
           at Hangfire.Server.CoreBackgroundJobPerformer.Perform(PerformContext context)
           at Hangfire.Server.BackgroundJobPerformer.InvokePerformFilter(IServerFilter filter, PerformingContext preContext, Func`1 continuation)
           at Hangfire.Server.BackgroundJobPerformer.PerformJobWithFilters(PerformContext context, IEnumerable`1 filters)
           at Hangfire.Server.BackgroundJobPerformer.Perform(PerformContext context)
           at Hangfire.Server.Worker.PerformJob(BackgroundProcessContext context, IStorageConnection connection, String jobId, BackgroundJob backgroundJob, Object& result)
        """;

    /// <summary>
    /// <paramref name="jobs"/> jobs: 90 % DialBatchJob.Run succeeded; 10 % failed, half of them
    /// DialBatchJob.Run with an HttpRequestException and its stack trace, half CampaignCallJob.CallAgain
    /// for a failed contact (ids 20k + 4: job n stands for contact n - 16) with the reason its call failed for good. Created over the
    /// last 23 hours, in id order.
    /// </summary>
    /// <returns>The id before the first job's: job n's id is this + n.</returns>
    public async Task<long> FillAsync(IBackgroundJobClient client, int jobs, int batches, int contacts)
    {
        var (dial, call) = await TemplatesAsync(client);
        await using var connection = await dataSource.OpenConnectionAsync();
        // The ids the fill writes are taken from the sequences first: the service creates jobs meanwhile (recurring ones).
        var jobBase = await ReserveIdsAsync(connection, "job", jobs + Scheduled + Processing);
        var stateBase = await ReserveIdsAsync(connection, "state", 3L * jobs + Scheduled + Processing);
        var now = DateTime.UtcNow;
        for (var start = 1; start <= jobs; start += Chunk)
        {
            var end = Math.Min(start + Chunk - 1, jobs);
            await using var fill = new NpgsqlCommand(JobsSql, connection) { CommandTimeout = 900 };
            foreach (var value in new object[] { jobBase, stateBase, (long)start, (long)end, now, (double)jobs, dial, call, (long)batches, 20L * Math.Max(contacts / 20, 1), HttpFailureDetails })
                fill.Parameters.Add(new NpgsqlParameter { Value = value });
            await fill.ExecuteNonQueryAsync();
            Console.Error.WriteLine($"filled {end:N0} Hangfire jobs");
        }
        await using (var extra = new NpgsqlCommand(ScheduledAndProcessingSql, connection) { CommandTimeout = 900 })
        {
            foreach (var value in new object[] { jobBase + jobs, stateBase + 3L * jobs, now, dial, (long)batches })
                extra.Parameters.Add(new NpgsqlParameter { Value = value });
            await extra.ExecuteNonQueryAsync();
        }
        await ExecuteAsync(connection, CountersSql);
        foreach (var table in new[] { "job", "state", "jobparameter", "set", "aggregatedcounter" })
            await ExecuteAsync(connection, $"VACUUM ANALYZE {schema}.{table}");
        return jobBase;
    }

    /// <summary>
    /// One job of each kind scheduled through Hangfire's client (days ahead, so no worker runs it): its
    /// stored invocation data is what the fill copies, and its stored arguments must equal what the
    /// fill would write for the same values, or the fill's jobs would not be ours.
    /// </summary>
    private async Task<(string Dial, string Call)> TemplatesAsync(IBackgroundJobClient client)
    {
        var dialId = client.Schedule<DialBatchJob>(j => j.Run(7, "Batch 7", null, CancellationToken.None), TimeSpan.FromDays(3));
        var callId = client.Schedule<CampaignCallJob>(j => j.CallAgain(14, "contact 14", null, CancellationToken.None), TimeSpan.FromDays(3));
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var read = new NpgsqlCommand($"""
            SELECT j.invocationdata::text, j.arguments = {Arguments("7", "'Batch 7'")}, c.invocationdata::text, c.arguments = {Arguments("14", "'contact 14'")},
                   j.arguments::text, c.arguments::text
            FROM {schema}.job j, {schema}.job c WHERE j.id = $1 AND c.id = $2
            """, connection);
        read.Parameters.Add(new NpgsqlParameter { Value = long.Parse(dialId) });
        read.Parameters.Add(new NpgsqlParameter { Value = long.Parse(callId) });
        await using var reader = await read.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) throw new InvalidOperationException("the template jobs are not in Hangfire's job table");
        if (!reader.GetBoolean(1) || !reader.GetBoolean(3))
            throw new InvalidOperationException($"Hangfire stores our jobs' arguments as {reader.GetString(4)} and {reader.GetString(5)}, not in the shape the fill writes");
        return (reader.GetString(0), reader.GetString(2));
    }

    /// <summary>Hangfire's arguments column for (long, string, PerformContext, CancellationToken): each argument JSON-serialized, in a JSON array.</summary>
    private static string Arguments(string id, string label) => $"jsonb_build_array(({id})::text, to_jsonb(({label})::text)::text, NULL, NULL)";

    private static string Millis(string at) => $"(extract(epoch FROM {at}) * 1000)::bigint::text";

    // $1 job id base, $2 state id base, $3..$4 the chunk's numbers, $5 now, $6 jobs, $7 DialBatchJob's and $8 CallAgain's invocation
    // data, $9 batches, $10 the contacts that can have failed (a multiple of 20), $11 the HTTP failure's details. State ids: 3n-2 Enqueued, 3n-1 Processing, 3n final.
    private string JobsSql => $"""
        WITH n AS (
            SELECT g AS n, $1 + g AS id, $2 + 3 * g AS state_id,
                   CASE WHEN g % 10 <> 0 THEN 'Succeeded' WHEN g % 20 = 0 THEN 'call' ELSE 'Failed' END AS kind,
                   $5::timestamptz - interval '23 hours 5 minutes' + (g / $6) * interval '23 hours' AS created
            FROM generate_series($3::bigint, $4::bigint) g),
        j AS (
            SELECT n.*, CASE WHEN kind = 'Succeeded' THEN 'Succeeded' ELSE 'Failed' END AS statename,
                   1 + n % $9 AS batch, (n - 20) % $10 + 4 AS contact,
                   created + interval '40 milliseconds' AS started, created + interval '1840 milliseconds' AS finished,
                   'bench-host:' || CASE WHEN kind = 'call' THEN 'main' ELSE 'campaigns' END || ':6f1d2c3a-0b4e-4f5a-9c8d-7e6f5a4b3c2d' AS server
            FROM n),
        jobs AS (
            INSERT INTO {schema}.job (id, stateid, statename, invocationdata, arguments, createdat, expireat)
            SELECT id, state_id, statename, CASE WHEN kind = 'call' THEN $8::jsonb ELSE $7::jsonb END,
                   CASE WHEN kind = 'call' THEN {Arguments("contact", "'contact ' || contact")} ELSE {Arguments("batch", "'Batch ' || batch")} END,
                   created, CASE WHEN statename = 'Succeeded' THEN $5::timestamptz + interval '1 day' END
            FROM j),
        parameters AS (
            INSERT INTO {schema}.jobparameter (jobid, name, value)
            SELECT id, p.name, '"en-US"' FROM j CROSS JOIN (VALUES ('CurrentCulture'), ('CurrentUICulture')) p(name))
        INSERT INTO {schema}.state (id, jobid, name, reason, createdat, data)
        SELECT state_id - 2, id, 'Enqueued', CASE WHEN kind = 'call' THEN NULL ELSE 'Triggered by DelayedJobScheduler' END, created,
               jsonb_build_object('EnqueuedAt', {Millis("created")}, 'Queue', CASE WHEN kind = 'call' THEN 'default' ELSE 'campaigns' END)
        FROM j
        UNION ALL
        SELECT state_id - 1, id, 'Processing', NULL, started,
               jsonb_build_object('StartedAt', {Millis("started")}, 'ServerId', server, 'WorkerId', md5(n::text)::uuid::text)
        FROM j
        UNION ALL
        SELECT state_id, id, statename, CASE WHEN statename = 'Failed' THEN 'An exception occurred during performance of the job.' END, finished,
               CASE kind
                   WHEN 'Succeeded' THEN jsonb_build_object('SucceededAt', {Millis("finished")}, 'PerformanceDuration', (1700 + n % 400)::text, 'Latency', (30 + n % 20)::text)
                   WHEN 'call' THEN jsonb_build_object('FailedAt', {Millis("finished")},
                       'ExceptionType', 'Dispatcher.Jobs.HangfireJobs.CampaignCallFailedException',
                       'ExceptionMessage', 'Out of attempts: 3 calls ended as unjoined (last: no answer after 45 s)',
                       'ExceptionDetails', 'Dispatcher.Jobs.HangfireJobs.CampaignCallFailedException: Out of attempts: 3 calls ended as unjoined (last: no answer after 45 s)',
                       'ServerId', server, 'WorkerId', md5(n::text)::uuid::text)
                   ELSE jsonb_build_object('FailedAt', {Millis("finished")},
                       'ExceptionType', 'System.Net.Http.HttpRequestException',
                       'ExceptionMessage', 'Response status code does not indicate success: 503 (Service Unavailable).',
                       'ExceptionDetails', $11::text, 'ServerId', server, 'WorkerId', md5(n::text)::uuid::text)
               END
        FROM j
        """;

    // $1 the next job id base, $2 the next state id base, $3 now, $4 DialBatchJob's invocation data, $5 batches.
    private string ScheduledAndProcessingSql => $"""
        WITH n AS (
            SELECT g AS n, $1 + g AS id, $2 + g AS state_id, CASE WHEN g <= {Scheduled} THEN 'Scheduled' ELSE 'Processing' END AS statename,
                   1 + g % $5 AS batch, $3::timestamptz - (g % 600) * interval '1 second' AS created,
                   $3::timestamptz + interval '2 days' + g * interval '1 minute' AS due
            FROM generate_series(1, {Scheduled + Processing}) g),
        jobs AS (
            INSERT INTO {schema}.job (id, stateid, statename, invocationdata, arguments, createdat)
            SELECT id, state_id, statename, $4::jsonb, {Arguments("batch", "'Batch ' || batch")}, created FROM n),
        schedule AS (
            INSERT INTO {schema}.set (key, score, value)
            SELECT 'schedule', extract(epoch FROM due), id::text FROM n WHERE statename = 'Scheduled')
        INSERT INTO {schema}.state (id, jobid, name, reason, createdat, data)
        SELECT state_id, id, statename, NULL, created,
               CASE statename
                   WHEN 'Scheduled' THEN jsonb_build_object('EnqueueAt', {Millis("due")}, 'ScheduledAt', {Millis("created")})
                   ELSE jsonb_build_object('StartedAt', {Millis("created")}, 'ServerId', 'bench-host:campaigns:6f1d2c3a-0b4e-4f5a-9c8d-7e6f5a4b3c2d',
                                           'WorkerId', md5(n::text)::uuid::text)
               END
        FROM n
        """;

    // Totals, per day and per hour, as Hangfire's stats counters hold them once aggregated.
    private string CountersSql => $"""
        INSERT INTO {schema}.aggregatedcounter (key, value, expireat)
        SELECT key, sum(value), max(expireat) FROM (
            SELECT 'stats:' || lower(statename) AS key, count(*) AS value, NULL::timestamptz AS expireat
            FROM {schema}.job WHERE statename IN ('Succeeded', 'Failed') GROUP BY statename
            UNION ALL
            SELECT 'stats:' || lower(statename) || ':' || to_char(createdat AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*), now() + interval '1 month'
            FROM {schema}.job WHERE statename IN ('Succeeded', 'Failed') GROUP BY 1
            UNION ALL
            SELECT 'stats:' || lower(statename) || ':' || to_char(createdat AT TIME ZONE 'UTC', 'YYYY-MM-DD-HH24'), count(*), now() + interval '1 day'
            FROM {schema}.job WHERE statename IN ('Succeeded', 'Failed') GROUP BY 1) c
        GROUP BY key
        ON CONFLICT (key) DO UPDATE SET value = {schema}.aggregatedcounter.value + excluded.value
        """;

    /// <summary>Moves the table's id sequence past <paramref name="count"/> ids; answers the id before the first of them.</summary>
    private async Task<long> ReserveIdsAsync(NpgsqlConnection connection, string table, long count)
    {
        await using var command = new NpgsqlCommand($"SELECT setval(pg_get_serial_sequence('{schema}.{table}', 'id'), nextval(pg_get_serial_sequence('{schema}.{table}', 'id')) + $1) - $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 900 };
        await command.ExecuteNonQueryAsync();
    }
}
