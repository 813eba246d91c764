using Dispatcher.Bench;

// dotnet run -c Release --project Dispatcher.Bench -- dispatch [--database-url URL] [--batches 1000] [--contacts 100]
// dotnet run -c Release --project Dispatcher.Bench -- onboarding [--database-url URL] [--signups 2000] [--rate 100] [--warmup 1000]
// dotnet run -c Release --project Dispatcher.Bench -- csv [--database-url URL] [--rows 100000] [--runs 3]
// dotnet run -c Release --project Dispatcher.Bench -- dashboard [--database-url URL] [--jobs 1000000] [--contacts 1000000] [--samples 40]
// dotnet run -c Release --project Dispatcher.Bench -- drill [--database-url URL] [--minutes 5]
try
{
    return args.FirstOrDefault() switch
    {
        "dispatch" => await DispatchBenchmark.RunAsync(new Arguments(args.Skip(1))),
        "onboarding" => await OnboardingBenchmark.RunAsync(new Arguments(args.Skip(1))),
        "csv" => await CsvBenchmark.RunAsync(new Arguments(args.Skip(1))),
        "dashboard" => await DashboardBenchmark.RunAsync(new Arguments(args.Skip(1))),
        "drill" => await Dispatcher.Bench.Drill.DrillCommand.RunAsync(new Arguments(args.Skip(1))),
        _ => Usage(),
    };
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          dispatch [--database-url URL] [--batches 1000] [--contacts 100] [--calls-per-minute 60] [--max-concurrent 5]
                   [--call-seconds 2] [--timeout-seconds 3x one batch's dialling time + 60] [--create-ms-per-batch 30]
                   [--warmup-contacts 20]
              Campaign dialling end to end: the real service dials the batches (one agency each) through a
              fake Ultravox whose calls end with signed call.ended webhooks; prints one JSON line (rate,
              pace error, concurrency violations, double dials, lateness, statements and commits per dial).
              First, unmeasured, the same batches' agencies dial --warmup-contacts each (0: start cold).
              Without --database-url it starts a throwaway PostgreSQL; with it, give an empty database.
          onboarding [--database-url URL] [--signups 2000] [--rate 100] [--warmup 1000] [--timeout-seconds signups/rate + 120] [--settle-seconds 2]
                     [--warmup 0] [--prewarm false] [--samples-csv PATH]
              Supabase signups end to end: INSERTs into auth.users at the rate go through the shipped trigger,
              outbound_call_jobs' NOTIFY, the service's dispatcher and call job to a fake Twilio; prints one
              JSON line (signup commit to Twilio POST p50/p99/max, calls per signup, per-stage breakdown).
              --warmup N sends N unmeasured signups first; --prewarm true warms the service's Twilio client and pool.
              Without --database-url it starts a throwaway PostgreSQL; with it, give an empty database.
          csv [--database-url URL] [--rows 100000] [--runs 3]
              One CSV upload of --rows contacts through POST /api/batches/csv, sent chunked as it is generated;
              prints one JSON line (seconds, rows/s, allocated bytes per row, peak RSS). Without --database-url
              it starts a throwaway PostgreSQL; with it, give an empty database.
          dashboard [--database-url URL] [--jobs 1000000] [--contacts 1000000] [--samples 40]
              Hangfire's dashboard with our pages at scale: the real service's Hangfire tables filled in bulk with
              --jobs jobs (90 % succeeded, 10 % failed with exception texts) and ours with --contacts contacts in
              1,000 batches; every page (first and last) fetched over HTTP, rows counted; prints one JSON line
              (p50/p95 ms per page, load average). Without --database-url it starts a throwaway PostgreSQL; with it,
              give an empty database.
          drill [--database-url URL] [--minutes 5]
              The fault drill: the published service three times (separate processes, live mode) on one PostgreSQL,
              the providers played by this process (its record of every call is the witness); 20 batches x 200
              contacts and a stream of signups while it SIGKILLs a random instance 20 times, restarts PostgreSQL
              twice in immediate mode, loses 10 % of webhooks and doubles 10 %, and answers 5xx, hangs and 429s;
              then 200+ malformed requests; prints one JSON line (lost, double dials, violations, recoveries, ...).
              Without --database-url it starts a throwaway PostgreSQL (which it restarts); with it, give an empty database.
        """);
    return 2;
}
