extern alias web;

using System.Diagnostics;
using System.Text.Json;
using web::Dispatcher.Web.Telephony.Emulation;
using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Bench;

/// <summary>
/// Onboarding calls end to end, as on Supabase: signups inserted into auth.users at a steady rate
/// (each its own autocommit INSERT) go through the shipped on_auth_user_created_onboarding trigger,
/// request_onboarding_call, the outbound_call_jobs NOTIFY (heard by the DatabaseListener), the
/// service's dispatch pass, Hangfire (OnboardingCallJob on the onboarding queue) and PlaceOnboardingCall to a fake Twilio. Measures, per phone, the time from the
/// INSERT's commit (the moment the statement returned) to the fake receiving the call's POST.
/// Both instants come from the same clock in this one process: TimeProvider.System (DateTimeOffset.UtcNow,
/// CLOCK_REALTIME), which the fake uses for its CreateRequests' At. Prints one JSON line on stdout;
/// progress and a per-stage breakdown go to stderr.
/// </summary>
public static class OnboardingBenchmark
{
    private const string FromNumber = "+15557654321";
    private const string HangfireSchema = "hangfire"; // the service's default Hangfire schema
    private static readonly TimeProvider Clock = TimeProvider.System;

    /// <summary>One signup: its phone, when its INSERT was sent and when it returned (committed).</summary>
    private sealed class Sample(int index, string phone, bool warmup, TimeSpan due)
    {
        public int Index { get; } = index;
        /// <summary>When it is sent, from the first signup's sending.</summary>
        public TimeSpan Due { get; } = due;
        /// <summary>Sent before the measured signups, at the same rate, to warm the service up; not in the statistics.</summary>
        public bool Warmup { get; } = warmup;
        public string Phone { get; } = phone;
        public DateTimeOffset Sent { get; set; }
        public DateTimeOffset Committed { get; set; }
        public string? Error { get; set; }
        /// <summary>Set last, after Committed or Error: what the waiting loop reads.</summary>
        public bool Done { get => Volatile.Read(ref _done); set => Volatile.Write(ref _done, value); }
        private bool _done;
    }

    public static async Task<int> RunAsync(Arguments args)
    {
        var signups = args.Int("signups", 2_000);
        var rate = args.Int("rate", 100);
        var timeout = TimeSpan.FromSeconds(args.Int("timeout-seconds", (int)Math.Ceiling(signups / (double)rate) + 120));
        var settle = TimeSpan.FromSeconds(args.Int("settle-seconds", 2));
        // A just-started service spends much of its first seconds compiling (tiered JIT). The warm-up
        // signups come first, their rate rising from a tenth of --rate to --rate as traffic reaches
        // a service that has just been deployed; the measured ones find a service that has been running.
        var warmup = args.Text("warmup") is "0" ? 0 : args.Int("warmup", 1_000);
        var schedule = Schedule(warmup, signups, rate);
        timeout += schedule[warmup];
        if (signups > 9_999_999) throw new ArgumentException("--signups must stay below 10,000,000 (unique 7-digit numbers)");

        await using var database = await RunDatabase.OpenAsync(args, "onboarding_bench");

        // The signups' own pool: each INSERT is its own autocommit statement on whichever
        // connection is free, so a slow one never holds up the next on the timer.
        await using var signupSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            // No DISCARD ALL on each return to the pool: the INSERTs leave no session state behind.
            MaxPoolSize = 50, MinPoolSize = 20, NoResetOnClose = true, ApplicationName = "onboarding-bench-signups",
        }.ConnectionString);
        await using var db = new BenchQueries(database.ConnectionString, "onboarding-bench");

        // Supabase's auth.users, as far as the trigger cares, before the service starts: its
        // start-up installs the trigger only when the table exists.
        await db.ExecuteAsync("""
            CREATE SCHEMA IF NOT EXISTS auth;
            CREATE TABLE IF NOT EXISTS auth.users (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                email text, phone text,
                raw_user_meta_data jsonb,
                created_at timestamptz NOT NULL DEFAULT now())
            """);

        await using var fake = await TwilioEmulation.StartAsync(Clock);
        fake.CallDuration = _ => TimeSpan.FromMilliseconds(200);
        var service = StartService(database.ConnectionString, fake);
        try
        {
            await WaitUntilReadyAsync(service, db);
            var prewarm = args.Text("prewarm") is "true" or "1";
            if (prewarm) await PrewarmServiceAsync(service);
            Console.Error.WriteLine($"service at {service.BaseUrl}; fake Twilio at {fake.BaseUrl}; {warmup} warm-up and {signups} measured signups at {rate}/s");

            // Warm-up signups (if any) come first in the same paced stream, with numbers of their own.
            var all = Enumerable.Range(0, warmup).Select(i => new Sample(i, $"+1416{i + 1:D7}", warmup: true, schedule[i]))
                .Concat(Enumerable.Range(0, signups).Select(i => new Sample(warmup + i, $"+1415{i + 1:D7}", warmup: false, schedule[warmup + i])))
                .ToArray();
            var samples = all.Where(s => !s.Warmup).ToArray();
            // Warm the signup pool's connections (MinPoolSize) before the clock starts.
            await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
            {
                await using var command = signupSource.CreateCommand("SELECT 1");
                await command.ExecuteNonQueryAsync();
            }));

            var statsAvailable = await db.TryResetStatementStatsAsync();
            var cpuBefore = await db.CpuTimeAsync(database.IsOnThisMachine);
            var pressureBefore = CpuPressureMicroseconds();
            var gcPauseBefore = GC.GetTotalPauseDuration();
            var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            using var threads = new ThreadPoolSampler(all);
            var wall = Stopwatch.StartNew();
            var inserting = InsertSignupsAsync(signupSource, all);
            var (allCalled, _) = await WaitForCallsAsync(fake, all, timeout, wall);
            await inserting;
            var cpu = (await db.CpuTimeAsync(database.IsOnThisMachine)).Since(cpuBefore);
            var pressurePct = CpuPressureMicroseconds() is { } pressureAfter && pressureBefore is { } before
                ? Math.Round((pressureAfter - before) / 1e4 / wall.Elapsed.TotalSeconds, 1) : (double?)null;
            var gcPause = GC.GetTotalPauseDuration() - gcPauseBefore;
            var gcCounts = (GC.CollectionCount(0) - gcBefore.Item1, GC.CollectionCount(1) - gcBefore.Item2, GC.CollectionCount(2) - gcBefore.Item3);
            // A little longer, so a second call for a phone (a double dial) would be seen.
            await Task.Delay(settle);

            var phones = samples.ToDictionary(s => s.Phone);
            var creates = fake.CreateRequests.Where(c => c.To is not null && phones.ContainsKey(c.To)).ToList();
            var firstCall = creates.GroupBy(c => c.To!).ToDictionary(g => g.Key, g => g.Min(c => c.At));
            DateTimeOffset? lastCall = firstCall.Count > 0 ? firstCall.Values.Max() : null;
            var warmupPhones = all.Where(s => s.Warmup).Select(s => s.Phone).ToHashSet();
            var warmupCreates = fake.CreateRequests.Where(c => c.To is not null && warmupPhones.Contains(c.To)).ToList();
            var latencies = samples.Where(s => s.Error is null && firstCall.ContainsKey(s.Phone))
                .Select(s => (firstCall[s.Phone] - s.Committed).TotalMilliseconds).Order().ToList();
            var warmupFirstCall = warmupCreates.GroupBy(c => c.To!).ToDictionary(g => g.Key, g => g.Min(c => c.At));
            var coldLatencies = all.Where(s => s.Warmup && s.Error is null && warmupFirstCall.ContainsKey(s.Phone))
                .Select(s => (warmupFirstCall[s.Phone] - s.Committed).TotalMilliseconds).Order().ToList();
            var insertMs = samples.Where(s => s.Error is null).Select(s => (s.Committed - s.Sent).TotalMilliseconds).Order().ToList();
            var multiple = creates.GroupBy(c => c.To).Count(g => g.Count() > 1);
            var warmupMultiple = warmupCreates.GroupBy(c => c.To).Count(g => g.Count() > 1);
            var failedInserts = samples.Count(s => s.Error is not null);
            var firstSent = samples.Where(s => s.Error is null).Select(s => s.Sent).DefaultIfEmpty().Min();
            var lastSent = samples.Where(s => s.Error is null).Select(s => s.Sent).DefaultIfEmpty().Max();
            foreach (var failed in samples.Where(s => s.Error is not null).Take(5))
                Console.Error.WriteLine($"signup {failed.Index} failed: {failed.Error}");

            var stages = await StagesAsync(db, all, firstCall.Concat(warmupFirstCall).ToDictionary(), args.Text("samples-csv"));
            PrintStages(stages, latencies);
            PrintBySecond(all, firstCall.Concat(warmupFirstCall).ToDictionary(), threads);
            Console.Error.WriteLine($"cpu seconds: dotnet {cpu.Dotnet:F1}, postgres {cpu.Postgres:F1} " +
                $"on {Environment.ProcessorCount} cores; GC pauses {gcPause.TotalMilliseconds:F0} ms (gen0 {gcCounts.Item1}, gen1 {gcCounts.Item2}, gen2 {gcCounts.Item3}); " +
                $"thread pool threads max {threads.MaxThreads}, queued work items max {threads.MaxQueued}");
            long? statements = null;
            if (statsAvailable)
            {
                await db.PrintTopStatementsAsync();
                statements = (await db.StatementsAsync()).All;
            }

            Console.WriteLine(JsonSerializer.Serialize(new
            {
                benchmark = "onboarding",
                signups,
                rate,
                warmup_signups = warmup,
                prewarm,
                warmup_create_requests = warmupCreates.Count,
                warmup_signup_to_call_ms_p50 = warmup > 0 ? Math.Round(Percentile.Of(coldLatencies, 0.50), 1) : (double?)null,
                warmup_signup_to_call_ms_p99 = warmup > 0 ? Math.Round(Percentile.Of(coldLatencies, 0.99), 1) : (double?)null,
                warmup_means = "the signups before the measured ones, right after the service started, their rate rising from a tenth of rate to rate: a cold start, the JIT still compiling",
                achieved_rate = signups > 1 && lastSent > firstSent ? Math.Round((signups - 1) / (lastSent - firstSent).TotalSeconds, 1) : (double?)null,
                all_called = allCalled,
                phones_called = firstCall.Count,
                failed_inserts = failedInserts,
                signup_to_call_ms_p50 = Math.Round(Percentile.Of(latencies, 0.50), 1),
                signup_to_call_ms_p99 = Math.Round(Percentile.Of(latencies, 0.99), 1),
                max_ms = Math.Round(latencies.LastOrDefault(), 1),
                signup_to_call_from = "the signup INSERT returning (autocommit, so after its commit) to the fake Twilio receiving the call's POST; both DateTimeOffset.UtcNow (TimeProvider.System) in this process",
                insert_ms_p50 = Math.Round(Percentile.Of(insertMs, 0.50), 2),
                insert_ms_p99 = Math.Round(Percentile.Of(insertMs, 0.99), 2),
                calls_per_signup = Math.Round((double)creates.Count / signups, 4),
                create_requests = creates.Count,
                phones_with_more_than_one_request = multiple,
                stage_ms_p50 = stages.Select(s => KeyValuePair.Create(s.Name, Math.Round(Percentile.Of(s.Sorted, 0.50), 1))).ToDictionary(),
                stage_ms_p99 = stages.Select(s => KeyValuePair.Create(s.Name, Math.Round(Percentile.Of(s.Sorted, 0.99), 1))).ToDictionary(),
                dispatch_passes_with_rows = stages.Passes,
                sql_statements_per_signup = statements is { } n ? Math.Round((double)n / all.Length, 1) : (double?)null,
                sql_statements_counted = "pg_stat_statements from the first warm-up signup until every phone was called, the signup INSERTs and Hangfire's included, over warm-up and measured signups",
                fake_call_duration_ms = 200,
                cpu_seconds_dotnet = Math.Round(cpu.Dotnet, 1),
                cpu_seconds_postgres = cpu.Postgres is { } postgres ? Math.Round(postgres, 1) : (double?)null,
                cpu_cores = Environment.ProcessorCount,
                gc_pause_ms = Math.Round(gcPause.TotalMilliseconds, 1),
                host_cpu_pressure_pct = pressurePct,
                host_cpu_pressure_means = "share of the run's wall time in which some runnable task on this machine waited for a CPU (/proc/pressure/cpu 'some'); high values mean other load competed",
                peak_rss_mb = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0, 1),
                peak_rss_includes = "this process: the service, the fake Twilio (which keeps every request) and the benchmark",
                wall_seconds = Math.Round(lastCall is { } last && firstSent != default ? (last - firstSent).TotalSeconds : wall.Elapsed.TotalSeconds, 2),
                wall_seconds_from = "the first measured signup INSERT sent until the last measured phone's first call reached the fake",
            }));
            return allCalled && multiple == 0 && warmupMultiple == 0 && failedInserts == 0 && creates.Count == signups ? 0 : 1;
        }
        finally
        {
            await service.DisposeAsync();
        }
    }

    /// <summary>When each signup is sent: the warm-up ones at a rate rising evenly from rate / 10 to rate, then the measured ones at rate.</summary>
    private static TimeSpan[] Schedule(int warmup, int signups, int rate)
    {
        var due = new TimeSpan[warmup + signups];
        var at = 0.0;
        for (var i = 1; i < due.Length; i++)
        {
            var current = i < warmup ? rate / 10.0 + (rate - rate / 10.0) * i / warmup : rate;
            at += 1 / current;
            due[i] = TimeSpan.FromSeconds(at);
        }
        return due;
    }

    /// <summary>
    /// Paced by a timer: at each tick every signup whose time has come is sent, each as its own
    /// autocommit INSERT, without waiting for the previous ones.
    /// </summary>
    private static async Task InsertSignupsAsync(NpgsqlDataSource dataSource, Sample[] samples)
    {
        var inflight = new List<Task>(samples.Length);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        var start = Stopwatch.GetTimestamp();
        var next = 0;
        while (true)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            for (; next < samples.Length && samples[next].Due <= elapsed; next++) inflight.Add(InsertAsync(dataSource, samples[next]));
            if (next == samples.Length) break;
            await timer.WaitForNextTickAsync();
        }
        await Task.WhenAll(inflight);
    }

    private static async Task InsertAsync(NpgsqlDataSource dataSource, Sample sample)
    {
        await Task.Yield(); // off the timer loop
        try
        {
            await using var command = dataSource.CreateCommand("INSERT INTO auth.users (email, raw_user_meta_data) VALUES ($1, $2)");
            command.Parameters.Add(new NpgsqlParameter { Value = $"signup{sample.Index}@example.com" });
            command.Parameters.Add(new NpgsqlParameter
            {
                Value = JsonSerializer.Serialize(new Dictionary<string, string> { ["phone"] = sample.Phone, ["first_name"] = $"Signup{sample.Index}" }),
                NpgsqlDbType = NpgsqlDbType.Jsonb,
            });
            sample.Sent = Clock.GetUtcNow();
            await command.ExecuteNonQueryAsync();
            sample.Committed = Clock.GetUtcNow();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            sample.Error = ex.Message;
        }
        finally
        {
            sample.Done = true;
        }
    }

    /// <summary>
    /// Until the fake has a create request for every phone, or the timeout. Progress to stderr every 5 s.
    /// Reads only the requests that arrived since its last look: a rescan of every request each time
    /// would cost the benchmark more CPU as the run goes on, CPU the service under test needs.
    /// </summary>
    private static async Task<(bool All, DateTimeOffset? LastCall)> WaitForCallsAsync(TwilioEmulation fake, Sample[] samples, TimeSpan timeout, Stopwatch wall)
    {
        var waiting = samples.Select(s => s.Phone).ToHashSet();
        var read = 0;
        DateTimeOffset? last = null;
        var nextReport = TimeSpan.FromSeconds(5);
        while (true)
        {
            var requests = fake.CreateRequests;
            for (; read < requests.Count; read++)
            {
                var request = requests[read];
                if (request.To is null || !waiting.Remove(request.To)) continue;
                if (last is null || request.At > last) last = request.At;
            }
            // Done when every phone was called, or every signup that was inserted (some failed) was.
            if (waiting.Count == 0) return (true, last);
            if (samples.All(s => s.Done) && samples.Where(s => s.Error is null).All(s => !waiting.Contains(s.Phone)))
                return (false, last);
            var elapsed = wall.Elapsed;
            if (elapsed >= nextReport)
            {
                Console.Error.WriteLine($"[{elapsed.TotalSeconds,5:F0} s] signups committed {samples.Count(s => s.Done && s.Error is null)}/{samples.Length}, phones called {samples.Length - waiting.Count}");
                nextReport = elapsed + TimeSpan.FromSeconds(5);
            }
            if (elapsed >= timeout)
            {
                Console.Error.WriteLine($"timed out after {timeout.TotalSeconds:F0} s with {waiting.Count} phones not called; reporting what was called");
                return (false, last);
            }
            await Task.Delay(50);
        }
    }

    private sealed record Stage(string Name, List<double> Sorted);

    private sealed class Stages(List<Stage> list, int passes) : List<Stage>(list)
    {
        public int Passes { get; } = passes;
    }

    /// <summary>
    /// Where the time went, per phone, from the rows the service wrote; every instant is
    /// TimeProvider.System in this process except outbound_call_jobs.created_at (the signup
    /// transaction's now(), the database server's clock, on the same machine for a throwaway server).
    /// </summary>
    private static async Task<Stages> StagesAsync(BenchQueries db, Sample[] samples, Dictionary<string, DateTimeOffset> firstCall, string? csvPath)
    {
        var csv = csvPath is null ? null : new StreamWriter(csvPath);
        csv?.WriteLine("index,warmup,sent_ms,committed_ms,dispatched_ms,enqueued_ms,claimed_ms,posted_ms,finalized_ms");
        var origin = samples.Where(s => s.Error is null && !s.Warmup).Select(s => s.Sent).DefaultIfEmpty().Min();
        string Ms(DateTimeOffset? at) => at is { } t ? (t - origin).TotalMilliseconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "";
        await using var command = db.Command($"""
            SELECT o.phone_number, o.dispatched_at, j.createdat, p.createdat, NULL::timestamptz
            FROM outbound_call_jobs o
            LEFT JOIN {HangfireSchema}.job j ON j.id = o.hangfire_job_id::bigint
            LEFT JOIN LATERAL (SELECT min(s.createdat) AS createdat FROM {HangfireSchema}.state s WHERE s.jobid = j.id AND s.name = 'Processing') p ON true
            WHERE o.phone_number = ANY ($1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = samples.Select(s => s.Phone).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var commitToDispatch = new List<double>();
        var dispatchToEnqueue = new List<double>();
        var enqueueToClaim = new List<double>();
        var claimToPost = new List<double>();
        var passes = new HashSet<DateTimeOffset>();
        var byPhone = samples.ToDictionary(s => s.Phone);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var sample = byPhone[reader.GetString(0)];
                if (sample.Error is not null) continue;
                csv?.WriteLine(string.Join(",", sample.Index, sample.Warmup ? 1 : 0, Ms(sample.Sent), Ms(sample.Committed), Ms(Field(1)), Ms(Field(2)),
                    Ms(Field(3)), Ms(firstCall.TryGetValue(sample.Phone, out var at) ? at : null), Ms(Field(4))));
                if (sample.Warmup || reader.IsDBNull(1)) continue;
                var dispatched = reader.GetFieldValue<DateTimeOffset>(1);
                passes.Add(dispatched);
                commitToDispatch.Add((dispatched - sample.Committed).TotalMilliseconds);
                if (reader.IsDBNull(2)) continue;
                var enqueued = reader.GetFieldValue<DateTimeOffset>(2);
                dispatchToEnqueue.Add((enqueued - dispatched).TotalMilliseconds);
                if (reader.IsDBNull(3)) continue;
                var claimed = reader.GetFieldValue<DateTimeOffset>(3);
                enqueueToClaim.Add((claimed - enqueued).TotalMilliseconds);
                if (firstCall.TryGetValue(sample.Phone, out var posted)) claimToPost.Add((posted - claimed).TotalMilliseconds);
            }

            DateTimeOffset? Field(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
        }
        if (csv is not null) await csv.DisposeAsync();
        var list = new List<Stage>
        {
            // dispatched_at is the pass's clock reading taken before it opened its connection.
            new("commit_to_dispatch_pass", commitToDispatch),
            new("dispatch_pass_to_enqueue", dispatchToEnqueue),
            new("enqueue_to_claim", enqueueToClaim),
            new("claim_to_post", claimToPost),
        };
        foreach (var stage in list) stage.Sorted.Sort();
        return new Stages(list, passes.Count);
    }

    private static void PrintStages(Stages stages, List<double> total)
    {
        Console.Error.WriteLine("stages (ms)                  p50      p90      p99      max");
        foreach (var s in stages.Append(new Stage("signup_to_call", total)))
            Console.Error.WriteLine($"  {s.Name,-24} {Percentile.Of(s.Sorted, 0.5),8:F1} {Percentile.Of(s.Sorted, 0.9),8:F1} {Percentile.Of(s.Sorted, 0.99),8:F1} {s.Sorted.LastOrDefault(),8:F1}");
        Console.Error.WriteLine($"  dispatch passes that picked up rows: {stages.Passes}");
    }

    /// <summary>Signup-to-call by the second the signup was sent in: p50, p99 and max, to see whether the tail comes in bursts.</summary>
    private static void PrintBySecond(Sample[] samples, Dictionary<string, DateTimeOffset> firstCall, ThreadPoolSampler threads)
    {
        var ok = samples.Where(s => s.Error is null && firstCall.ContainsKey(s.Phone)).ToList();
        if (ok.Count == 0) return;
        var origin = ok.Min(s => s.Sent);
        Console.Error.WriteLine("by second sent (w: warm-up): signup-to-call p50 / p99 / max ms (count); thread pool: most threads, most queued items");
        foreach (var second in ok.GroupBy(s => (int)(s.Sent - origin).TotalSeconds).OrderBy(g => g.Key))
        {
            var l = second.Select(s => (firstCall[s.Phone] - s.Committed).TotalMilliseconds).Order().ToList();
            var (most, queued) = threads.Second(second.Key);
            Console.Error.WriteLine($"  {second.Key,3} s{(second.All(s => s.Warmup) ? "w" : " ")}: {Percentile.Of(l, 0.5),7:F1} / {Percentile.Of(l, 0.99),7:F1} / {l[^1],7:F1} ({l.Count}); {most,3} {queued,5}");
        }
    }

    /// <summary>Samples the thread pool every 10 ms while alive: starvation shows as queued work items.</summary>
    private sealed class ThreadPoolSampler : IDisposable
    {
        private readonly Timer _timer;
        private readonly Sample[] _samples;
        private readonly Dictionary<int, (int Threads, long Queued)> _bySecond = [];
        public int MaxThreads { get; private set; }
        public long MaxQueued { get; private set; }

        /// <summary>Seconds count from the first signup's sending, as in <see cref="PrintBySecond"/>.</summary>
        public ThreadPoolSampler(Sample[] samples)
        {
            _samples = samples;
            _timer = new Timer(_ =>
            {
                var (threads, queued) = (ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount);
                lock (_bySecond)
                {
                    MaxThreads = Math.Max(MaxThreads, threads);
                    MaxQueued = Math.Max(MaxQueued, queued);
                    var first = _samples[0].Sent;
                    if (first == default) return;
                    var second = (int)(DateTimeOffset.UtcNow - first).TotalSeconds;
                    var was = _bySecond.GetValueOrDefault(second);
                    _bySecond[second] = (Math.Max(was.Threads, threads), Math.Max(was.Queued, queued));
                }
            }, null, 0, 10);
        }

        public (int Threads, long Queued) Second(int second)
        {
            lock (_bySecond) return _bySecond.GetValueOrDefault(second);
        }

        public void Dispose() => _timer.Dispose();
    }

    /// <summary>Linux PSI: total microseconds in which some task waited for a CPU; null where unavailable.</summary>
    private static long? CpuPressureMicroseconds()
    {
        try
        {
            var some = File.ReadLines("/proc/pressure/cpu").FirstOrDefault(l => l.StartsWith("some ", StringComparison.Ordinal));
            var total = some?.Split(' ').FirstOrDefault(f => f.StartsWith("total=", StringComparison.Ordinal));
            return total is null ? null : long.Parse(total["total=".Length..]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The real service calling through the fake Twilio, on a port chosen first so API_BASE_URL can name it.</summary>
    private static BenchService StartService(string connectionString, TwilioEmulation fake)
    {
        var port = BenchService.FreePort();
        return BenchService.Start(connectionString, new Dictionary<string, string>
        {
            ["TWILIO_ACCOUNT_SID"] = fake.AccountSid,
            ["TWILIO_AUTH_TOKEN"] = fake.AuthToken,
            ["TWILIO_PHONE_NUMBER"] = FromNumber,
            ["TWILIO_BASE_URL"] = fake.BaseUrl,
            ["API_BASE_URL"] = $"http://127.0.0.1:{port}",
        }, port);
    }

    /// <summary>
    /// What the service could do itself at start-up (an experiment, --prewarm true): 20 look-ups through
    /// its own TwilioCalls at once (JIT of the Twilio SDK and HttpClient, 20 pooled connections to Twilio)
    /// and 20 database connections opened at once, each reading outbound_call_jobs.
    /// </summary>
    private static async Task PrewarmServiceAsync(BenchService service)
    {
        var twilio = service.Get<Dispatcher.Jobs.Onboarding.Twilio.TwilioCalls>();
        var dataSource = service.Get<NpgsqlDataSource>();
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            await twilio.FindCallsAsync($"+1999{i:D7}", DateTimeOffset.UtcNow, CancellationToken.None);
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM outbound_call_jobs WHERE id = -1", connection);
            await command.ExecuteScalarAsync();
            await Task.Delay(50); // hold the connection so the pool grows to 20
        }));
        Console.Error.WriteLine($"prewarmed the service's Twilio client and database pool in {watch.ElapsedMilliseconds} ms");
    }

    /// <summary>The trigger installed and the service's listen connection up (it hears outbound_call_jobs).</summary>
    private static async Task WaitUntilReadyAsync(BenchService service, BenchQueries db)
    {
        var listener = service.Get<Dispatcher.Jobs.Notifications.DatabaseListener>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var installed = await db.ScalarAsync(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'on_auth_user_created_onboarding' AND tgrelid = 'auth.users'::regclass") == 1;
            if (installed && listener.IsListening) return;
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"the service is not ready after 30 s (trigger installed: {installed}, listening: {listener.IsListening})");
            await Task.Delay(20);
        }
    }
}
