using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dispatcher.Jobs.HangfireWiring;
using Hangfire;
using Npgsql;

namespace Dispatcher.Bench;

/// <summary>
/// Hangfire's dashboard with our pages at scale: the real service on an empty database (Hangfire
/// installs its schema, DbUp ours), then Hangfire's tables filled in bulk with --jobs jobs (90 %
/// succeeded, 10 % failed with real exception texts) and ours with --contacts contacts in
/// 1,000 batches; then every page, its first and last page, fetched over HTTP --samples times,
/// counting the rows each shows. Prints one JSON line (p50/p95 ms and rows per page, load average).
/// </summary>
public static class DashboardBenchmark
{
    private const int Batches = 1_000;
    private const int TargetMs = 300;

    public static async Task<int> RunAsync(Arguments args)
    {
        var jobs = args.Int("jobs", 1_000_000);
        var contacts = args.Int("contacts", 1_000_000);
        var samples = args.Int("samples", 40);
        var setup = Stopwatch.StartNew();
        await using var database = await RunDatabase.OpenAsync(args, "dashboard_bench");
        // Local requests reach the dashboard without sign-in; simulated telephony needs no provider.
        await using var service = BenchService.Start(database.ConnectionString, new Dictionary<string, string> { ["TELEPHONY_MODE"] = "simulated" });
        var schema = service.Get<HangfireSettings>().Schema;
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var jobBase = await new HangfireJobsFill(dataSource, schema).FillAsync(service.Get<IBackgroundJobClient>(), jobs, Batches, contacts);
        await new CampaignDataFill(dataSource).FillAsync(Batches, contacts, jobs, jobBase);
        var setupSeconds = setup.Elapsed.TotalSeconds;

        await using var queries = new BenchQueries(database.ConnectionString, "dashboard-bench");
        var counts = await CountsAsync(queries, schema);
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(service.BaseUrl) };
        var home = await http.GetStringAsync("/hangfire");
        var antiforgery = DashboardPage.Antiforgery.From(home);
        var metrics = Regex.Matches(home, DashboardPage.Metric + "([^\"]+)\"").Select(m => m.Groups[1].Value).Distinct().ToArray();
        var pages = Pages(counts, metrics);
        var statementStats = await queries.TryResetStatementStatsAsync();

        var loadBefore = await LoadAverageAsync();
        var results = new Dictionary<string, object>();
        foreach (var page in pages)
        {
            var rows = 0;
            for (var i = 0; i < 3; i++) rows = await page.FetchAsync(http, antiforgery); // warm-up
            if (rows == 0) throw new InvalidOperationException($"{page.Path} showed no rows");
            var times = new List<double>();
            for (var i = 0; i < samples; i++)
            {
                var watch = Stopwatch.StartNew();
                await page.FetchAsync(http, antiforgery);
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            var p95 = Percentile.Of(times, 0.95);
            results[page.Name] = new
            {
                path = page.Path, rows, p50_ms = Math.Round(Percentile.Of(times, 0.50), 1), p95_ms = Math.Round(p95, 1),
                max_ms = Math.Round(times[^1], 1), under_target = p95 < TargetMs,
            };
            Console.Error.WriteLine($"{page.Name}: {rows} rows, p50 {Percentile.Of(times, 0.5):0.0} ms, p95 {p95:0.0} ms");
        }
        var loadAfter = await LoadAverageAsync();
        if (statementStats) await queries.PrintTopStatementsAsync();

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            benchmark = "dashboard",
            jobs = counts.Jobs,
            jobs_by_state = counts.ByState,
            contacts = counts.Contacts,
            batches = Batches,
            setup_seconds = Math.Round(setupSeconds, 1),
            samples_per_page = samples,
            target_p95_ms = TargetMs,
            all_under_target = results.Values.All(r => (bool)r.GetType().GetProperty("under_target")!.GetValue(r)!),
            load_average_before = loadBefore,
            load_average_after = loadAfter,
            pages = results,
        }));
        return 0;
    }

    /// <summary>
    /// Hangfire's pages (home, the lists' first and last pages through ?from=&amp;count=, a job, /stats)
    /// and ours (batches, a batch's first and last keyset page, onboarding's first and last).
    /// </summary>
    private static List<DashboardPage> Pages(Counts counts, string[] metrics)
    {
        const int perPage = 20;
        string Last(string state) => $"?from={Math.Max(counts.ByState.GetValueOrDefault(state) - perPage, 0)}&count={perPage}";
        var list = new List<DashboardPage>
        {
            new("hangfire_home", "/hangfire", DashboardPage.Metric),
            new("stats", "/hangfire/stats", "\"value\"", metrics),
        };
        foreach (var (state, path) in new[] { ("Succeeded", "succeeded"), ("Failed", "failed"), ("Processing", "processing"), ("Scheduled", "scheduled") })
        {
            list.Add(new($"{path}_first_page", $"/hangfire/jobs/{path}", DashboardPage.JobRow));
            list.Add(new($"{path}_last_page", $"/hangfire/jobs/{path}{Last(state)}", DashboardPage.JobRow));
        }
        list.Add(new("failed_job", $"/hangfire/jobs/details/{counts.AFailedJob}", DashboardPage.StateCard));
        list.Add(new("succeeded_job", $"/hangfire/jobs/details/{counts.ASucceededJob}", DashboardPage.StateCard));
        list.Add(new("batches_first_page", "/hangfire/batches", "<tr data-batch="));
        list.Add(new("batches_last_page", $"/hangfire/batches?before={counts.FirstBatch + 20}", "<tr data-batch="));
        list.Add(new("batch_first_page", $"/hangfire/batches/{counts.BigBatch}", "<tr id=\"contact-"));
        list.Add(new("batch_last_page", $"/hangfire/batches/{counts.BigBatch}?before={counts.BigBatchFirstContact + 50}", "<tr id=\"contact-"));
        list.Add(new("onboarding_first_page", "/hangfire/onboarding", "<tr id=\"onboarding-"));
        list.Add(new("onboarding_last_page", $"/hangfire/onboarding?before={counts.FirstOnboardingCall + 40}", "<tr id=\"onboarding-"));
        return list;
    }

    private sealed record Counts(long Jobs, Dictionary<string, long> ByState, long Contacts, long AFailedJob, long ASucceededJob,
        long FirstBatch, long BigBatch, long BigBatchFirstContact, long FirstOnboardingCall);

    private static async Task<Counts> CountsAsync(BenchQueries queries, string schema)
    {
        var byState = new Dictionary<string, long>();
        await using (var command = queries.Command($"SELECT statename, count(*) FROM {schema}.job GROUP BY statename"))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) byState[reader.GetString(0)] = reader.GetInt64(1);
        var bigBatch = await queries.ScalarAsync("SELECT id FROM call_batches ORDER BY total DESC, id LIMIT 1");
        return new Counts(byState.Values.Sum(), byState,
            await queries.ScalarAsync("SELECT count(*) FROM campaign_contacts"),
            // Jobs in the middle of the table, as an operator would open from a list.
            await queries.ScalarAsync($"SELECT id FROM {schema}.job WHERE statename = 'Failed' AND id > (SELECT max(id) / 2 FROM {schema}.job) ORDER BY id LIMIT 1"),
            await queries.ScalarAsync($"SELECT id FROM {schema}.job WHERE statename = 'Succeeded' AND id > (SELECT max(id) / 2 FROM {schema}.job) ORDER BY id LIMIT 1"),
            await queries.ScalarAsync("SELECT min(id) FROM call_batches"),
            bigBatch,
            await queries.ScalarAsync($"SELECT min(id) FROM campaign_contacts WHERE batch_id = {bigBatch}"),
            await queries.ScalarAsync("SELECT min(id) FROM outbound_call_jobs"));
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux), as they stood when the pages were timed.</summary>
    private static async Task<string> LoadAverageAsync() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', (await File.ReadAllTextAsync("/proc/loadavg")).Split(' ').Take(3)) : "n/a";
}
