using Dispatcher.Bench;

// dotnet run -c Release --project Dispatcher.Bench -- engine [--database-url URL] [--jobs 200000]
// dotnet run -c Release --project Dispatcher.Bench -- worker --database-url URL [--queue crash] [--concurrency 4]
try
{
    return args.FirstOrDefault() switch
    {
        "engine" => await EngineBenchmark.RunAsync(new Arguments(args.Skip(1))),
        "worker" => await CrashWorker.RunAsync(new Arguments(args.Skip(1))),
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
          engine [--database-url URL] [--jobs 200000] [--concurrency 1000] [--claim-batch 1000] [--latency-samples 500]
              Burn-down benchmark of the job engine; prints one JSON line. Without --database-url it
              starts a throwaway PostgreSQL from the machine's server binaries.
          worker --database-url URL [--queue default] [--concurrency 4] [--heartbeat-ms 500] [--lease-ms 3000] [--shutdown-ms 20000]
              Runs one engine instance until killed (used by the crash tests).
        """);
    return 2;
}
