extern alias web;

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using web::Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Bench;

/// <summary>
/// Campaign dialling end to end: the real service (Dispatcher.Web on Kestrel, as the tests start
/// it) dials many paced, capped batches through a fake Ultravox whose calls end after a while with
/// a signed call.ended webhook to the service's real route. One agency (one API key) per batch, so
/// the fake's per-key live-call counts are per batch. Prints one JSON line on stdout; progress and
/// the busiest statements go to stderr.
/// </summary>
public static class DispatchBenchmark
{
    private const string TickCron = "*/5 * * * * *";
    // Every dialling batch holds a campaigns worker while its slice runs: 1,000 batches, and room for the hand-overs.
    private const int CampaignWorkers = 1_100;
    private const int DomainConnections = 48;
    private static readonly TimeSpan LateStart = TimeSpan.FromSeconds(5);
    private const string AgentId = "be4c0a11-5f2e-4d7a-9b63-1c8e2a7f4d90"; // Ultravox agent ids are UUIDs
    private const string FromNumber = "+15550000000";

    private sealed record Parameters(int Batches, int Contacts, int CallsPerMinute, int MaxConcurrent, int CallSeconds, TimeSpan Timeout,
        TimeSpan CreateAllowance, int WarmupContacts);

    private sealed record BenchBatch(int Index, string ApiKey, long AgencyId, long MappingId)
    {
        public long Id { get; set; }
    }

    // Contacts' numbers: +1 and ten digits, unique across the measured batches and the warm-up's.
    private const long MeasuredNumbers = 2_000_000_000L;
    private const long WarmupNumbers = 9_000_000_000L;

    /// <summary>One dial as the service recorded it in calls: its pace slot and when the request went out.</summary>
    private readonly record struct Dial(long BatchId, DateTimeOffset Slot, DateTimeOffset Sent);

    public static async Task<int> RunAsync(Arguments args)
    {
        var p = ReadParameters(args);
        var setupWatch = Stopwatch.StartNew();

        await using var database = await RunDatabase.OpenAsync(args, "dispatch_bench");

        // --idle-seconds 0 skips the idle measurement.
        var idleSeconds = args.Text("idle-seconds") == "0" ? 0 : args.Int("idle-seconds", 60);
        var idleStatementsPerSec = await IdleStatementsPerSecondAsync(database.ConnectionString, TimeSpan.FromSeconds(idleSeconds));

        await using var fake = await UltravoxEmulation.StartAsync();
        fake.CallDuration = _ => TimeSpan.FromSeconds(p.CallSeconds);
        var service = StartService(database.ConnectionString, fake);
        var serviceStopped = false;
        try
        {
            // The benchmark's own queries: one connection, so they never take the service's, and
            // their transactions can be counted out of commits_per_dial exactly.
            await using var db = new BenchQueries(database.ConnectionString, "dispatch-bench");
            var batches = await CreateAgenciesAsync(service.Get<AgencyDirectory>(), p.Batches);

            // A service that has run a while, as in production: its code compiled to its final tier,
            // its connection and thread pools grown. Cold, the first 30-40 s dialled at half the
            // rate and their backlog made the lateness. Not measured; --warmup-contacts 0 skips it.
            var warmup = await WarmUpAsync(service.Get<Batches>(), db, fake, batches, p);

            // All batches are created before the first is due, so creation does not compete with
            // dialling, and the measured window is the dial phase only.
            var start = await CreateBatchesAsync(service.Get<Batches>(), batches, p, "Bench batch", MeasuredNumbers);
            var statsAvailable = await db.TryResetStatementStatsAsync();
            var commitsBefore = await db.CommitsAsync();
            var hangfireJobsBefore = await db.ScalarAsync("SELECT count(*) FROM hangfire.job");
            var benchQueriesBefore = db.Queries;
            var cpuBefore = await db.CpuTimeAsync(database.IsOnThisMachine);
            var setupSeconds = setupWatch.Elapsed.TotalSeconds;
            if (start > DateTimeOffset.UtcNow) await Task.Delay(start - DateTimeOffset.UtcNow);
            var wall = Stopwatch.StartNew();

            var allDone = await WaitForBatchesAsync(db, fake, batches, p, wall);
            var wallSeconds = wall.Elapsed.TotalSeconds;

            (long All, long DiscardAll)? statements = statsAvailable ? await db.StatementsAsync() : null;
            var cpuAfter = await db.CpuTimeAsync(database.IsOnThisMachine);
            var hangfireJobs = await db.ScalarAsync("SELECT count(*) FROM hangfire.job") - hangfireJobsBefore;
            if (statsAvailable) await db.PrintTopStatementsAsync();

            var ids = batches.Select(b => b.Id).ToArray();
            var dials = await DialsAsync(db, ids);
            var startDelays = await StartDelaysAsync(db, ids);
            var contacts = await ContactStatesAsync(db, ids);
            var creates = fake.CreateRequests.Skip(warmup.Dials).ToList();
            var webhookFailures = fake.WebhookDeliveries.Count(d => d.Status is not (>= 200 and < 300));
            var maxLive = batches.Select(b => fake.MaxLiveCallsFor(b.ApiKey)).ToArray();

            // Stop the service before reading commits: its backends flush their transaction
            // counts to pg_stat_database when they exit, otherwise only every few seconds.
            await service.DisposeAsync();
            serviceStopped = true;
            await db.WaitForOtherBackendsToLeaveAsync(TimeSpan.FromSeconds(10));
            // Less the benchmark's own transactions from the first reading (which counts) to the last (which does not).
            var commits = await db.CommitsAsync() - commitsBefore;
            commits -= db.Queries - benchQueriesBefore;

            var pace = PaceErrors(dials, p.CallsPerMinute);
            var lateness = dials.Select(d => (d.Sent - d.Slot).TotalMilliseconds).Order().ToList();
            var rates = DialRates(dials);
            var cpu = cpuAfter.Since(cpuBefore);
            var dialCount = creates.Count;

            Console.WriteLine(JsonSerializer.Serialize(new
            {
                benchmark = "dispatch",
                batches = p.Batches,
                contacts_per_batch = p.Contacts,
                calls_per_minute = p.CallsPerMinute,
                max_concurrent = p.MaxConcurrent,
                call_seconds = p.CallSeconds,
                campaign_workers = CampaignWorkers,
                domain_connections = DomainConnections,
                campaign_tick_cron = TickCron,
                all_batches_completed = allDone,
                dials = dialCount,
                calls_recorded = dials.Count,
                contacts_completed = contacts.GetValueOrDefault("completed"),
                contacts_not_completed = contacts.Where(c => c.Key != "completed").Sum(c => c.Value),
                warmup_contacts_per_batch = p.WarmupContacts,
                warmup_dials = warmup.Dials,
                warmup_seconds = Math.Round(warmup.Seconds, 1),
                offered_dials_per_sec = Math.Round(p.Batches * p.CallsPerMinute / 60.0, 1),
                dials_per_sec = Math.Round(rates.Steady, 1),
                dials_per_sec_overall = Math.Round(rates.Overall, 1),
                dials_per_sec_method = "steady: dials sent in the middle 80% of [first dial, last dial] over that time; overall: (dials - 1) / (last dial - first dial); send times from calls.dialed_at",
                dial_span_seconds = Math.Round(rates.SpanSeconds, 2),
                pace_error_pct = Math.Round(pace.Worst, 2),
                pace_error_pct_p50 = Math.Round(pace.Median, 2),
                pace_min_gap_ms = Math.Round(pace.MinGapMs, 1),
                concurrency_violations = maxLive.Count(m => m > p.MaxConcurrent),
                max_live_calls_per_batch = maxLive.DefaultIfEmpty().Max(),
                double_dials = fake.CreateRequests.Where(c => c.To is not null).GroupBy(c => c.To).Count(g => g.Count() > 1),
                dial_lateness_ms_p50 = Math.Round(Percentile.Of(lateness, 0.50), 1),
                dial_lateness_ms_p99 = Math.Round(Percentile.Of(lateness, 0.99), 1),
                dial_lateness_ms_max = Math.Round(lateness.LastOrDefault(), 1),
                batch_start_delay_ms_p50 = Math.Round(Percentile.Of(startDelays, 0.50), 1),
                batch_start_delay_ms_p99 = Math.Round(Percentile.Of(startDelays, 0.99), 1),
                batch_start_delay_ms_max = Math.Round(startDelays.LastOrDefault(), 1),
                batch_start_delay_method = "per batch: its first dial's send time less its scheduled_for (a dial's lateness counts from its own slot, so it misses a batch that starts late)",
                sql_statements_per_dial = statements is { } s ? Math.Round((double)s.All / Math.Max(dialCount, 1), 2) : (double?)null,
                discard_all_per_dial = statements is { } d ? Math.Round((double)d.DiscardAll / Math.Max(dialCount, 1), 2) : (double?)null,
                statements_source = statsAvailable
                    ? $"pg_stat_statements, track = {db.Track} (BEGIN/COMMIT counted; statements inside triggers {(db.Track == "all" ? "counted" : "not counted")}); the benchmark's own excluded"
                    : "unavailable",
                commits_per_dial = Math.Round((double)commits / Math.Max(dialCount, 1), 2),
                hangfire_jobs_per_dial = Math.Round((double)hangfireJobs / Math.Max(dialCount, 1), 4),
                hangfire_jobs = hangfireJobs,
                idle_statements_per_sec = idleStatementsPerSec is { } idle ? Math.Round(idle, 1) : (double?)null,
                idle_measured = "one service instance with default settings, idle on this database for --idle-seconds (60), statements from pg_stat_statements",
                stats_window = "dial phase only: from after every batch was created (before the first was due) until every batch completed",
                webhook_failures = webhookFailures,
                cpu_seconds_dotnet = Math.Round(cpu.Dotnet, 1),
                cpu_seconds_postgres = cpu.Postgres is { } postgres ? Math.Round(postgres, 1) : (double?)null,
                cpu_cores = Environment.ProcessorCount,
                peak_rss_mb = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0, 1),
                peak_rss_includes = "this process: the service, the fake Ultravox (which keeps every request) and the benchmark",
                setup_seconds = Math.Round(setupSeconds, 1),
                wall_seconds = Math.Round(wallSeconds, 1),
                wall_seconds_from = "the first batch's start until every batch completed",
            }));
            return allDone ? 0 : 1;
        }
        finally
        {
            if (!serviceStopped) await service.DisposeAsync();
        }
    }

    /// <summary>
    /// What an idle instance with default settings costs the database: statements per second
    /// while it waits with nothing to do (its Hangfire workers' queue polls, schedulers, heartbeats).
    /// </summary>
    private static async Task<double?> IdleStatementsPerSecondAsync(string connectionString, TimeSpan window)
    {
        if (window <= TimeSpan.Zero) return null;
        // Simulated telephony: both workloads configured (campaigns and onboarding), nothing to do.
        await using var idle = BenchService.Start(connectionString, new Dictionary<string, string> { ["TELEPHONY_MODE"] = "simulated" });
        await using var db = new BenchQueries(connectionString, "dispatch-bench-idle");
        await Task.Delay(TimeSpan.FromSeconds(10)); // start-up: schema, recurring jobs, servers announced
        if (!await db.TryResetStatementStatsAsync()) return null;
        var watch = Stopwatch.StartNew();
        await Task.Delay(window);
        var (all, _) = await db.StatementsAsync();
        var perSecond = all / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"idle instance: {all} statements in {watch.Elapsed.TotalSeconds:F0} s ({perSecond:F1}/s)");
        return perSecond;
    }

    private static Parameters ReadParameters(Arguments args)
    {
        var batches = args.Int("batches", 1_000);
        var contacts = args.Int("contacts", 100);
        var callsPerMinute = args.Int("calls-per-minute", 60);
        var maxConcurrent = args.Int("max-concurrent", 5);
        var callSeconds = args.Int("call-seconds", 2);
        // Generous: three times the ideal dialling time of one batch, plus a minute.
        var ideal = (contacts - 1) * 60.0 / callsPerMinute + callSeconds;
        var timeout = args.Int("timeout-seconds", (int)Math.Ceiling(3 * ideal + 60));
        // Time allowed to create each batch before the first is due. Alone, 1,000 batches of 100
        // took about 10 s here; overlapping the first dials, which slow it down, 80 s.
        var createAllowance = TimeSpan.FromMilliseconds(args.Int("create-ms-per-batch", 30));
        var warmupContacts = args.Text("warmup-contacts") == "0" ? 0 : args.Int("warmup-contacts", 20);
        if ((long)batches * contacts > WarmupNumbers - MeasuredNumbers) throw new ArgumentException("--batches x --contacts must stay below 7e9 (unique 10-digit numbers)");
        if ((long)batches * warmupContacts > 999_999_999L) throw new ArgumentException("--batches x --warmup-contacts must stay below 1e9 (unique 10-digit numbers)");
        return new Parameters(batches, contacts, callsPerMinute, maxConcurrent, callSeconds, TimeSpan.FromSeconds(timeout), createAllowance, warmupContacts);
    }

    /// <summary>The real service, dialling through the fake, whose call.ended webhooks go to the service's route.</summary>
    private static BenchService StartService(string connectionString, UltravoxEmulation fake)
    {
        // 1,000 batches dialling at once share the domain's connections: more than a small deployment's 16.
        var pooled = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = DomainConnections }.ConnectionString;
        var service = BenchService.Start(pooled, new Dictionary<string, string>
        {
            ["ULTRAVOX_BASE_URL"] = fake.BaseUrl,
            ["ULTRAVOX_WEBHOOK_SECRETS"] = fake.WebhookSecret,
            ["CAMPAIGN_WORKERS"] = CampaignWorkers.ToString(CultureInfo.InvariantCulture),
            ["CAMPAIGN_TICK_CRON"] = TickCron,
        });
        fake.WebhookUrl = service.BaseUrl + "/webhooks/ultravox";
        return service;
    }

    private static async Task<List<BenchBatch>> CreateAgenciesAsync(AgencyDirectory directory, int count)
    {
        var batches = new BenchBatch[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var apiKey = $"bench-key-{i}";
            var agency = await directory.CreateAgencyAsync($"Bench agency {i}", apiKey, ct);
            var mapping = await directory.CreateAgentMappingAsync(agency, AgentId, "Bench agent", FromNumber, ct);
            batches[i] = new BenchBatch(i, apiKey, agency, mapping);
        });
        return [.. batches];
    }

    /// <summary>
    /// The same agencies dial a short campaign of the same shape (--warmup-contacts each) to its
    /// end. Returns how many dials it made (the fake's first requests) and how long it took.
    /// </summary>
    private static async Task<(int Dials, double Seconds)> WarmUpAsync(Batches service, BenchQueries db, UltravoxEmulation fake, List<BenchBatch> batches,
        Parameters p)
    {
        if (p.WarmupContacts == 0) return (0, 0);
        var watch = Stopwatch.StartNew();
        var warmup = batches.Select(b => b with { }).ToList();
        var shape = p with { Contacts = p.WarmupContacts };
        var start = await CreateBatchesAsync(service, warmup, shape, "Warm-up batch", WarmupNumbers);
        if (start > DateTimeOffset.UtcNow) await Task.Delay(start - DateTimeOffset.UtcNow);
        if (!await WaitForBatchesAsync(db, fake, warmup, shape, Stopwatch.StartNew()))
            throw new TimeoutException("the warm-up campaign did not finish");
        Console.Error.WriteLine($"warm-up: {fake.CreateRequests.Count} dials in {watch.Elapsed.TotalSeconds:F0} s");
        return (fake.CreateRequests.Count, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Creates the batches through the service, a few at a time, each scheduled to start at a
    /// common start plus its share of one pace interval: independent batches dial at
    /// independent phases, not all in the same instant. Returns the common start.
    /// </summary>
    private static async Task<DateTimeOffset> CreateBatchesAsync(Batches service, List<BenchBatch> batches, Parameters p, string name, long firstNumber)
    {
        // Room to create them all first, so that creating them does not compete with the dial phase.
        var start = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3) + p.CreateAllowance * p.Batches;
        var interval = TimeSpan.FromMinutes(1.0 / p.CallsPerMinute);
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (batch, ct) =>
        {
            var contacts = Enumerable.Range(0, p.Contacts)
                .Select(c => new NewContact($"+1{firstNumber + (long)batch.Index * p.Contacts + c}", $"Contact {batch.Index}-{c}",
                    new Dictionary<string, string> { ["plan"] = "gold" }))
                .ToList();
            var scheduledFor = start + interval * batch.Index / p.Batches;
            batch.Id = await service.CreateAsync(new NewBatch(batch.AgencyId, batch.MappingId, $"{name} {batch.Index}",
                p.CallsPerMinute, p.MaxConcurrent, contacts, ScheduledFor: scheduledFor), ct);
        });
        Console.Error.WriteLine($"created {p.Batches} batches of {p.Contacts} contacts with {(start - DateTimeOffset.UtcNow).TotalSeconds:F1} s to spare before the first is due");
        if (DateTimeOffset.UtcNow > start)
            Console.Error.WriteLine($"warning: creating the batches overran their start by {(DateTimeOffset.UtcNow - start).TotalSeconds:F1} s; the first ones started early");
        return start;
    }

    /// <summary>Until every batch is completed (or failed or cancelled), or the timeout. Progress to stderr every 10 s.</summary>
    private static async Task<bool> WaitForBatchesAsync(BenchQueries db, UltravoxEmulation fake, List<BenchBatch> batches, Parameters p, Stopwatch wall)
    {
        var ids = batches.Select(b => b.Id).ToArray();
        var total = (long)p.Batches * p.Contacts;
        var nextReport = TimeSpan.FromSeconds(10);
        var (lastReport, dialsAtLastReport) = (TimeSpan.Zero, 0);
        while (true)
        {
            var (done, finishedContacts) = await ProgressAsync(db, ids);
            if (done == ids.Length) return true;
            var elapsed = wall.Elapsed;
            if (elapsed >= nextReport || elapsed >= p.Timeout)
            {
                var dials = fake.CreateRequests.Count;
                Console.Error.WriteLine($"[{elapsed.TotalSeconds,5:F0} s] batches done {done}/{ids.Length}, contacts finished {finishedContacts}/{total}, " +
                    $"dials {dials} ({(dials - dialsAtLastReport) / (elapsed - lastReport).TotalSeconds:F0}/s since the last line), fake live calls {fake.LiveCalls}");
                (lastReport, dialsAtLastReport) = (elapsed, dials);
                nextReport = elapsed + TimeSpan.FromSeconds(10);
            }
            if (elapsed >= p.Timeout)
            {
                Console.Error.WriteLine($"timed out after {p.Timeout.TotalSeconds:F0} s; reporting what was dialled");
                return false;
            }
            await Task.Delay(500);
        }
    }

    private static (double Worst, double Median, double MinGapMs) PaceErrors(List<Dial> dials, int callsPerMinute)
    {
        var errors = new List<double>();
        var minGap = double.PositiveInfinity;
        foreach (var batch in dials.GroupBy(d => d.BatchId))
        {
            var sent = batch.Select(d => d.Sent).Order().ToList();
            if (sent.Count < 2) continue;
            for (var i = 1; i < sent.Count; i++) minGap = Math.Min(minGap, (sent[i] - sent[i - 1]).TotalMilliseconds);
            var observedPerMinute = (sent.Count - 1) / (sent[^1] - sent[0]).TotalMinutes;
            errors.Add(Math.Abs(observedPerMinute - callsPerMinute) / callsPerMinute * 100);
        }
        errors.Sort();
        return errors.Count == 0 ? (0, 0, 0) : (errors[^1], Percentile.Of(errors, 0.5), minGap);
    }

    private static (double Steady, double Overall, double SpanSeconds) DialRates(List<Dial> dials)
    {
        if (dials.Count < 2) return (0, 0, 0);
        var sent = dials.Select(d => d.Sent).Order().ToList();
        var span = sent[^1] - sent[0];
        if (span <= TimeSpan.Zero) return (0, 0, 0);
        var (from, to) = (sent[0] + span * 0.1, sent[0] + span * 0.9);
        var middle = sent.Count(t => t >= from && t < to);
        return (middle / (to - from).TotalSeconds, (sent.Count - 1) / span.TotalSeconds, span.TotalSeconds);
    }

    /// <summary>Batches finished (completed, failed or cancelled) and contacts finished, among these.</summary>
    private static async Task<(int Batches, long Contacts)> ProgressAsync(BenchQueries db, long[] ids)
    {
        await using var command = db.Command("""
            SELECT count(*) FILTER (WHERE status IN ('completed', 'failed', 'cancelled'))::int, coalesce(sum(completed + failed + cancelled), 0)::bigint
            FROM call_batches WHERE id = ANY ($1)
            """, ids);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt32(0), reader.GetInt64(1));
    }

    private static async Task<List<Dial>> DialsAsync(BenchQueries db, long[] ids)
    {
        await using var command = db.Command("SELECT batch_id, dial_slot, dialed_at FROM calls WHERE batch_id = ANY ($1) AND dial_slot IS NOT NULL AND dialed_at IS NOT NULL", ids);
        var dials = new List<Dial>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            dials.Add(new Dial(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2)));
        return dials;
    }

    /// <summary>
    /// How late each batch sent its first dial after its scheduled_for, in ms, in order. A batch that
    /// started more than <see cref="LateStart"/> late has its dial jobs' Hangfire history printed to
    /// stderr: where the time went (scheduled, enqueued, fetched, performed).
    /// </summary>
    private static async Task<List<double>> StartDelaysAsync(BenchQueries db, long[] ids)
    {
        var delays = new List<(long Batch, double Ms)>();
        await using (var command = db.Command("""
            SELECT b.id, extract(epoch FROM min(c.dialed_at) - b.scheduled_for)::float8 * 1000
            FROM call_batches b JOIN calls c ON c.batch_id = b.id
            WHERE b.id = ANY ($1) AND c.dialed_at IS NOT NULL
            GROUP BY b.id
            """, ids))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) delays.Add((reader.GetInt64(0), reader.GetDouble(1)));
        foreach (var (batch, ms) in delays.Where(d => d.Ms > LateStart.TotalMilliseconds).OrderByDescending(d => d.Ms).Take(5))
        {
            Console.Error.WriteLine($"batch {batch} started {ms / 1000:F1} s late; its dial jobs' states:");
            await using var command = db.Command("""
                SELECT j.id, s.name, s.createdat, coalesce(s.reason, '')
                FROM hangfire.job j JOIN hangfire.state s ON s.jobid = j.id
                WHERE j.invocationdata::text LIKE '%DialBatchJob%' AND j.arguments::jsonb ->> 0 = $1
                ORDER BY s.id
                """);
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = batch.ToString(CultureInfo.InvariantCulture) });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                Console.Error.WriteLine($"  job {reader.GetInt64(0)} {reader.GetString(1),-10} {reader.GetDateTime(2):HH:mm:ss.fff} {reader.GetString(3)}");
        }
        return delays.Select(d => d.Ms).Order().ToList();
    }

    private static async Task<Dictionary<string, int>> ContactStatesAsync(BenchQueries db, long[] ids)
    {
        await using var command = db.Command("SELECT status, count(*)::int FROM campaign_contacts WHERE batch_id = ANY ($1) GROUP BY status", ids);
        var states = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) states[reader.GetString(0)] = reader.GetInt32(1);
        return states;
    }
}
