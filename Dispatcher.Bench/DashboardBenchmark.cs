using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Npgsql;

namespace Dispatcher.Bench;

/// <summary>
/// The dashboard's jobs list over a big jobs table: fills the engine's tables with realistic jobs
/// (INSERT ... SELECT generate_series, in chunks; counts recorded as the engine records them),
/// then times whole HTTP requests for list pages (first page, a deep keyset page, filters by
/// state, queue, kind and text in args) against the real service on Kestrel. Prints one JSON line.
/// </summary>
public static class DashboardBenchmark
{
    private const int Chunk = 100_000;

    public static async Task<int> RunAsync(Arguments args)
    {
        var jobs = args.Int("jobs", 1_000_000);
        var samples = args.Int("samples", 40);
        await using var database = await RunDatabase.OpenAsync(args, "dashboard_bench");
        // Local requests reach the dashboard without sign-in.
        await using var service = BenchService.Start(database.ConnectionString);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var fillWatch = Stopwatch.StartNew();
        var (minId, maxId) = await FillAsync(dataSource, jobs);
        var fillSeconds = fillWatch.Elapsed.TotalSeconds;

        using var http = new HttpClient { BaseAddress = new Uri(service.BaseUrl) };
        // A deep page: keyset position 90 % of the way down the table.
        var deep = minId + (maxId - minId) / 10;
        var pages = new (string Name, string Path)[]
        {
            ("all_first_page", "/dashboard/jobs"),
            ("all_deep_page", $"/dashboard/jobs?before={deep}"),
            ("failed_first_page", "/dashboard/jobs?state=failed"),
            ("failed_deep_page", $"/dashboard/jobs?state=failed&before={deep}"),
            ("completed_by_queue_deep", $"/dashboard/jobs?state=completed&queue=reports&before={deep}"),
            ("failed_by_kind", "/dashboard/jobs?state=failed&kind=deliver-webhook"),
            ("failed_by_queue_kind_text", "/dashboard/jobs?state=failed&queue=email&kind=send-email&text=invoice"),
            ("all_by_text", "/dashboard/jobs?text=acct-77"),
            // One match in the table: the whole table is read to prove there is no second page.
            ("all_by_rare_text", "/dashboard/jobs?text=user999999@"),
            ("overview", "/dashboard"),
            ("job_page", $"/dashboard/jobs/{deep}"),
        };
        var results = new Dictionary<string, object>();
        foreach (var (name, path) in pages)
        {
            var rows = 0;
            for (var i = 0; i < 3; i++) rows = await FetchAsync(http, path); // warm-up
            var times = new List<double>();
            for (var i = 0; i < samples; i++)
            {
                var watch = Stopwatch.StartNew();
                await FetchAsync(http, path);
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            results[name] = new { path, rows, p50_ms = Math.Round(Percentile.Of(times, 0.50), 1), p95_ms = Math.Round(Percentile.Of(times, 0.95), 1), max_ms = Math.Round(times[^1], 1) };
            Console.Error.WriteLine($"{name}: p50 {Percentile.Of(times, 0.5):0.0} ms, p95 {Percentile.Of(times, 0.95):0.0} ms");
        }
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            benchmark = "dashboard",
            jobs,
            fill_seconds = Math.Round(fillSeconds, 1),
            samples_per_page = samples,
            target_ms = 300,
            pages = results,
        }));
        return 0;
    }

    /// <summary>Fetches a page whole and answers how many job rows it listed (their selection boxes), so an empty page cannot pass for a fast one.</summary>
    private static async Task<int> FetchAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}");
        var html = await response.Content.ReadAsStringAsync();
        return System.Text.RegularExpressions.Regex.Count(html, "name=\"ids\" value=");
    }

    /// <summary>
    /// Jobs in queues the service has no workers for (so nothing changes them while we measure):
    /// 70 % completed within the last 20 hours, 10 % failed with an error and a stack trace,
    /// 3 % cancelled, the rest available or scheduled / retryable in the future. The counts go to
    /// job_count_deltas per queue, state and minute, as engine statements record them.
    /// </summary>
    private static async Task<(long Min, long Max)> FillAsync(NpgsqlDataSource dataSource, int jobs)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var now = DateTimeOffset.UtcNow;
        for (var start = 0; start < jobs; start += Chunk)
        {
            var count = Math.Min(Chunk, jobs - start);
            await using var fill = new NpgsqlCommand("""
                WITH inserted AS (
                    INSERT INTO dispatcher.jobs (kind, queue, state, priority, args, attempt, max_attempts, tags, created_at, scheduled_at,
                                                 attempted_at, attempted_by, finalized_at, errors, last_error)
                    SELECT k.kind, k.queue, s.state::dispatcher.job_state, 0,
                           jsonb_build_object('account_id', 'acct-' || (n % 100000), 'to', 'user' || n || '@example.com',
                                              'template', (ARRAY['welcome','invoice','reminder','receipt','digest'])[1 + n % 5],
                                              'phone', '+1555' || lpad((n % 10000000)::text, 7, '0'), 'api_key', 'sk_live_' || md5(n::text)),
                           CASE WHEN s.state IN ('completed', 'available') THEN 1 ELSE 3 END, 3, ARRAY[k.queue],
                           t.created, CASE WHEN s.state IN ('scheduled', 'retryable') THEN $3 + (n % 3600) * interval '1 second' ELSE t.created END,
                           CASE WHEN s.state IN ('available', 'scheduled') THEN NULL ELSE t.created + interval '1 second' END,
                           CASE WHEN s.state IN ('available', 'scheduled') THEN NULL ELSE 'bench-host:1:worker' END,
                           CASE WHEN s.state IN ('completed', 'discarded', 'cancelled') THEN t.created + interval '2 seconds' END,
                           CASE WHEN s.state IN ('discarded', 'retryable') THEN jsonb_build_array(jsonb_build_object(
                               'attempt', 1, 'at', t.created, 'type', 'System.Net.Http.HttpRequestException',
                               'message', 'Response status code does not indicate success: 503 (Service Unavailable).',
                               'stack', repeat('   at Dispatcher.Jobs.Example.RunAsync(JobContext context, CancellationToken ct) in /src/Example.cs:line 42' || chr(10), 20)))
                                ELSE '[]'::jsonb END,
                           CASE WHEN s.state IN ('discarded', 'retryable') THEN 'Response status code does not indicate success: 503 (Service Unavailable).' END
                    FROM generate_series($1::bigint, $2::bigint) AS n
                    CROSS JOIN LATERAL (SELECT (ARRAY['send-email','render-report','deliver-webhook','charge-card'])[1 + n % 4] AS kind,
                                               (ARRAY['email','reports','webhooks','billing'])[1 + n % 4] AS queue) k
                    CROSS JOIN LATERAL (SELECT CASE WHEN n % 100 < 70 THEN 'completed' WHEN n % 100 < 80 THEN 'discarded'
                                                    WHEN n % 100 < 83 THEN 'cancelled' WHEN n % 100 < 88 THEN 'scheduled'
                                                    WHEN n % 100 < 90 THEN 'retryable' ELSE 'available' END AS state) s
                    CROSS JOIN LATERAL (SELECT $3 - interval '20 hours' + (n::double precision / $4) * interval '20 hours' AS created) t
                    RETURNING id, queue, state, coalesce(finalized_at, created_at) AS at)
                INSERT INTO dispatcher.job_count_deltas (queue, state, delta, at)
                SELECT queue, state, count(*), date_trunc('minute', at) FROM inserted GROUP BY 1, 2, 4
                """, connection);
            fill.Parameters.Add(new NpgsqlParameter { Value = (long)start });
            fill.Parameters.Add(new NpgsqlParameter { Value = (long)(start + count - 1) });
            fill.Parameters.Add(new NpgsqlParameter { Value = now });
            fill.Parameters.Add(new NpgsqlParameter { Value = (double)jobs });
            fill.CommandTimeout = 600;
            await fill.ExecuteNonQueryAsync();
            Console.Error.WriteLine($"filled {start + count:N0} jobs");
        }
        await using (var analyze = new NpgsqlCommand("VACUUM ANALYZE dispatcher.jobs", connection) { CommandTimeout = 600 })
            await analyze.ExecuteNonQueryAsync();
        await using var range = new NpgsqlCommand("SELECT min(id), max(id) FROM dispatcher.jobs", connection);
        await using var reader = await range.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
