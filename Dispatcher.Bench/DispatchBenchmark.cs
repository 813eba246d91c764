extern alias web;

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Queue.Storage;
using Dispatcher.Testing;
using Dispatcher.Tests.Fakes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using NpgsqlTypes;
using ServiceProgram = web::Program;

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
    private const string Marker = "/* bench */ ";
    private const string CredentialsKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // any 32 bytes: benchmark only
    private const string TickCron = "*/5 * * * * *";
    private const int CampaignWorkers = 400;
    private const string AgentId = "bench-agent";
    private const string FromNumber = "+15550000000";

    private sealed record Parameters(int Batches, int Contacts, int CallsPerMinute, int MaxConcurrent, int CallSeconds, TimeSpan Timeout);

    private sealed record BenchBatch(int Index, string ApiKey, long AgencyId, long MappingId)
    {
        public long Id { get; set; }
    }

    /// <summary>One dial as the service recorded it in calls: its pace slot and when the request went out.</summary>
    private readonly record struct Dial(long BatchId, DateTimeOffset Slot, DateTimeOffset Sent);

    public static async Task<int> RunAsync(Arguments args)
    {
        var p = ReadParameters(args);
        var setupWatch = Stopwatch.StartNew();

        await using var server = args.Text("database-url") is null ? await ThrowawayPostgres.StartAsync() : null;
        var connectionString = server is null
            ? PostgresUrl.ToConnectionString(args.Text("database-url")!)
            : await server.CreateDatabaseAsync("dispatch_bench");
        // Its processes can be looked at only when the server runs on this machine.
        var localServer = server is not null || new NpgsqlConnectionStringBuilder(connectionString).Host is "127.0.0.1" or "localhost" or "::1";

        await using var fake = await FakeUltravox.StartAsync();
        fake.CallDuration = () => TimeSpan.FromSeconds(p.CallSeconds);
        var service = StartService(connectionString, fake);
        var serviceStopped = false;
        try
        {
            // The benchmark's own queries: one connection, so they never take the service's, and
            // their transactions can be counted out of commits_per_dial exactly.
            await using var db = new BenchDatabase(connectionString);
            var batches = await CreateAgenciesAsync(service.Services.GetRequiredService<AgencyDirectory>(), p.Batches);

            // All batches are created before the first is due, so creation does not compete with
            // dialling, and the measured window is the dial phase only.
            var start = await CreateBatchesAsync(service.Services.GetRequiredService<Batches>(), batches, p);
            var statsAvailable = await db.TryResetStatementStatsAsync();
            var commitsBefore = await db.CommitsAsync();
            var benchQueriesBefore = db.Queries;
            var cpuBefore = await CpuAsync(db, localServer);
            var setupSeconds = setupWatch.Elapsed.TotalSeconds;
            if (start > DateTimeOffset.UtcNow) await Task.Delay(start - DateTimeOffset.UtcNow);
            var wall = Stopwatch.StartNew();

            var allDone = await WaitForBatchesAsync(db, fake, batches, p, wall);
            var wallSeconds = wall.Elapsed.TotalSeconds;

            (long All, long DiscardAll)? statements = statsAvailable ? await db.StatementsAsync() : null;
            var cpuAfter = await CpuAsync(db, localServer);
            if (statsAvailable) await db.PrintTopStatementsAsync();

            var ids = batches.Select(b => b.Id).ToArray();
            var dials = await db.DialsAsync(ids);
            var contacts = await db.ContactStatesAsync(ids);
            var creates = fake.CreateRequests;
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
                campaign_tick_cron = TickCron,
                all_batches_completed = allDone,
                dials = dialCount,
                calls_recorded = dials.Count,
                contacts_completed = contacts.GetValueOrDefault("completed"),
                contacts_not_completed = contacts.Where(c => c.Key != "completed").Sum(c => c.Value),
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
                double_dials = creates.Where(c => c.To is not null).GroupBy(c => c.To).Count(g => g.Count() > 1),
                dial_lateness_ms_p50 = Math.Round(Percentile(lateness, 0.50), 1),
                dial_lateness_ms_p99 = Math.Round(Percentile(lateness, 0.99), 1),
                dial_lateness_ms_max = Math.Round(lateness.LastOrDefault(), 1),
                sql_statements_per_dial = statements is { } s ? Math.Round((double)s.All / Math.Max(dialCount, 1), 2) : (double?)null,
                discard_all_per_dial = statements is { } d ? Math.Round((double)d.DiscardAll / Math.Max(dialCount, 1), 2) : (double?)null,
                statements_source = statsAvailable
                    ? $"pg_stat_statements, track = {db.Track} (BEGIN/COMMIT counted; statements inside triggers {(db.Track == "all" ? "counted" : "not counted")}); the benchmark's own excluded"
                    : "unavailable",
                commits_per_dial = Math.Round((double)commits / Math.Max(dialCount, 1), 2),
                stats_window = "dial phase only: from after every batch was created (before the first was due) until every batch completed",
                webhook_failures = webhookFailures,
                cpu_seconds_dotnet = Math.Round(cpuAfter.Dotnet - cpuBefore.Dotnet, 1),
                cpu_seconds_postgres = cpuAfter.Postgres is { } pgAfter && cpuBefore.Postgres is { } pgBefore ? Math.Round(pgAfter - pgBefore, 1) : (double?)null,
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
        if ((long)batches * contacts > 8_000_000_000L) throw new ArgumentException("--batches x --contacts must stay below 8e9 (unique 10-digit numbers)");
        return new Parameters(batches, contacts, callsPerMinute, maxConcurrent, callSeconds, TimeSpan.FromSeconds(timeout));
    }

    /// <summary>The real service on Kestrel at 127.0.0.1, configured by its environment settings, as the tests' DispatcherApp starts it.</summary>
    private static WebApplicationFactory<ServiceProgram> StartService(string connectionString, FakeUltravox fake)
    {
        var factory = new WebApplicationFactory<ServiceProgram>().WithWebHostBuilder(web =>
        {
            web.UseSetting("DATABASE_URL", connectionString);
            web.UseSetting("CREDENTIALS_KEY", CredentialsKey);
            web.UseSetting("ULTRAVOX_BASE_URL", fake.BaseUrl);
            web.UseSetting("ULTRAVOX_WEBHOOK_SECRETS", fake.WebhookSecret);
            web.UseSetting("CAMPAIGN_WORKERS", CampaignWorkers.ToString(CultureInfo.InvariantCulture));
            web.UseSetting("CAMPAIGN_TICK_CRON", TickCron);
            // stdout carries only the result line: the service logs warnings and worse to stderr.
            web.ConfigureLogging(logging => logging
                .ClearProviders()
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddFilter<ConsoleLoggerProvider>(null, LogLevel.Warning));
        });
        factory.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.WebhookUrl = address.TrimEnd('/') + "/webhooks/ultravox";
        return factory;
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
    /// Creates the batches through the service, a few at a time, each scheduled to start at a
    /// common start plus its share of one pace interval: independent batches dial at
    /// independent phases, not all in the same instant. Returns the common start.
    /// </summary>
    private static async Task<DateTimeOffset> CreateBatchesAsync(Batches service, List<BenchBatch> batches, Parameters p)
    {
        // Room to create them all first: a batch takes a few milliseconds to create, so 10 ms each is ample.
        var start = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3) + TimeSpan.FromMilliseconds(10) * p.Batches;
        var interval = TimeSpan.FromMinutes(1.0 / p.CallsPerMinute);
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (batch, ct) =>
        {
            // Unique E.164 numbers across all batches: +1 and ten digits.
            var contacts = Enumerable.Range(0, p.Contacts)
                .Select(c => new NewContact($"+1{2_000_000_000L + (long)batch.Index * p.Contacts + c}", $"Contact {batch.Index}-{c}",
                    new Dictionary<string, string> { ["plan"] = "gold" }))
                .ToList();
            var scheduledFor = start + interval * batch.Index / p.Batches;
            batch.Id = await service.CreateAsync(new NewBatch(batch.AgencyId, batch.MappingId, $"Bench batch {batch.Index}",
                p.CallsPerMinute, p.MaxConcurrent, contacts, ScheduledFor: scheduledFor), ct);
        });
        if (DateTimeOffset.UtcNow > start)
            Console.Error.WriteLine($"warning: creating the batches overran their start by {(DateTimeOffset.UtcNow - start).TotalSeconds:F1} s; the first ones started early");
        return start;
    }

    /// <summary>Until every batch is completed (or failed or cancelled), or the timeout. Progress to stderr every 10 s.</summary>
    private static async Task<bool> WaitForBatchesAsync(BenchDatabase db, FakeUltravox fake, List<BenchBatch> batches, Parameters p, Stopwatch wall)
    {
        var ids = batches.Select(b => b.Id).ToArray();
        var total = (long)p.Batches * p.Contacts;
        var nextReport = TimeSpan.FromSeconds(10);
        var (lastReport, dialsAtLastReport) = (TimeSpan.Zero, 0);
        while (true)
        {
            var (done, finishedContacts) = await db.ProgressAsync(ids);
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
        return errors.Count == 0 ? (0, 0, 0) : (errors[^1], Percentile(errors, 0.5), minGap);
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

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>
    /// CPU seconds used so far by this process (service, fake and benchmark) and by the PostgreSQL
    /// processes listed in pg_stat_activity (only when the server runs on this machine).
    /// </summary>
    private static async Task<(double Dotnet, double? Postgres)> CpuAsync(BenchDatabase db, bool localServer)
    {
        var dotnet = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        if (!localServer || !OperatingSystem.IsLinux()) return (dotnet, null);
        double ticks = 0;
        foreach (var pid in await db.ServerPidsAsync())
        {
            try
            {
                // Fields after the parenthesised command name: state is the 1st, utime the 12th, stime the 13th.
                var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException) { } // exited meanwhile
        }
        return (dotnet, ticks / 100.0); // USER_HZ is 100 on Linux
    }

    /// <summary>The benchmark's queries, all marked with <see cref="Marker"/> so pg_stat_statements can leave them out.</summary>
    private sealed class BenchDatabase(string connectionString) : IAsyncDisposable
    {
        private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 1, ApplicationName = "dispatch-bench" }.ConnectionString);

        /// <summary>Statements sent so far, each its own transaction.</summary>
        public long Queries { get; private set; }

        /// <summary>pg_stat_statements.track: "top" counts what clients send, "all" also statements run inside functions and triggers.</summary>
        public string Track { get; private set; } = "";

        public async Task<bool> TryResetStatementStatsAsync()
        {
            try
            {
                await ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
                await ExecuteAsync("SELECT pg_stat_statements_reset()");
                await using var command = Command("SELECT current_setting('pg_stat_statements.track')");
                Track = (string)(await command.ExecuteScalarAsync())!;
                return true;
            }
            catch (PostgresException)
            {
                return false; // not in shared_preload_libraries, or no rights
            }
        }

        /// <summary>
        /// Statements run in this database since the reset, except the benchmark's own; and how
        /// many of them were Npgsql's DISCARD ALL, sent when a pooled connection is reused.
        /// </summary>
        public async Task<(long All, long DiscardAll)> StatementsAsync()
        {
            await using var command = Command("""
                SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(calls) FILTER (WHERE query = 'DISCARD ALL'), 0)::bigint
                FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%'
                """);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetInt64(1));
        }

        /// <summary>The busiest statements to stderr: by calls, then by total execution time (where PostgreSQL's time goes).</summary>
        public async Task PrintTopStatementsAsync()
        {
            foreach (var order in new[] { "calls", "total_exec_time" })
            {
                await using var command = Command($"""
                    SELECT calls, round(total_exec_time)::bigint, round(mean_exec_time::numeric, 3)::float8, rows,
                           regexp_replace(left(query, 110), '\s+', ' ', 'g')
                    FROM pg_stat_statements
                    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND query NOT LIKE '%/* bench */%' AND query NOT LIKE '%pg_stat_statements%'
                    ORDER BY {order} DESC LIMIT 20
                    """);
                await using var reader = await command.ExecuteReaderAsync();
                Console.Error.WriteLine($"top statements by {order} (calls, total ms, mean ms, rows, query):");
                while (await reader.ReadAsync())
                    Console.Error.WriteLine($"  {reader.GetInt64(0),8} {reader.GetInt64(1),8} {reader.GetDouble(2),8:F3} {reader.GetInt64(3),8}  {reader.GetString(4)}");
            }
        }

        public Task<long> CommitsAsync() => ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");

        /// <summary>Batches finished (completed, failed or cancelled) and contacts finished, among these.</summary>
        public async Task<(int Batches, long Contacts)> ProgressAsync(long[] ids)
        {
            await using var command = Command("""
                SELECT count(*) FILTER (WHERE status IN ('completed', 'failed', 'cancelled'))::int, coalesce(sum(completed + failed + cancelled), 0)::bigint
                FROM call_batches WHERE id = ANY ($1)
                """, ids);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt32(0), reader.GetInt64(1));
        }

        public async Task<List<Dial>> DialsAsync(long[] ids)
        {
            await using var command = Command("SELECT batch_id, dial_slot, dialed_at FROM calls WHERE batch_id = ANY ($1) AND dial_slot IS NOT NULL AND dialed_at IS NOT NULL", ids);
            var dials = new List<Dial>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                dials.Add(new Dial(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2)));
            return dials;
        }

        public async Task<Dictionary<string, int>> ContactStatesAsync(long[] ids)
        {
            await using var command = Command("SELECT status, count(*)::int FROM campaign_contacts WHERE batch_id = ANY ($1) GROUP BY status", ids);
            var states = new Dictionary<string, int>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) states[reader.GetString(0)] = reader.GetInt32(1);
            return states;
        }

        public async Task<List<int>> ServerPidsAsync()
        {
            await using var command = Command("SELECT pid FROM pg_stat_activity");
            var pids = new List<int>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) pids.Add(reader.GetInt32(0));
            return pids;
        }

        /// <summary>Exiting backends report their counts; wait until the service's have gone.</summary>
        public async Task WaitForOtherBackendsToLeaveAsync(TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            const string others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()";
            while (await ScalarAsync(others) > 0 && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            // Our own backend reports at most once a second while busy: make it report now (PostgreSQL 15+).
            try { await ExecuteAsync("SELECT pg_stat_force_next_flush()"); }
            catch (PostgresException) { }
        }

        public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

        private NpgsqlCommand Command(string sql, long[]? ids = null)
        {
            Queries++;
            var command = _dataSource.CreateCommand(Marker + sql);
            if (ids is not null) command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            return command;
        }

        private async Task<long> ScalarAsync(string sql)
        {
            await using var command = Command(sql);
            return Convert.ToInt64(await command.ExecuteScalarAsync());
        }

        private async Task ExecuteAsync(string sql)
        {
            await using var command = Command(sql);
            await command.ExecuteNonQueryAsync();
        }
    }
}
