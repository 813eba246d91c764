using System.Diagnostics;

namespace Dispatcher.Bench.Drill;

/// <summary>
/// `drill [--database-url URL] [--minutes 5] [--batches 20] [--contacts 200] [--kills 20] [--pg-restarts 2]`: publishes the service (dotnet publish -c Release into
/// .local/drill/app), runs the fault drill on a throwaway PostgreSQL (or the empty database given,
/// which it then cannot restart) and prints the verdict as one JSON line; progress to stderr.
/// </summary>
public static class DrillCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var full = DrillPlan.Full(args.Int("minutes", 5));
        // Smaller drills, for trying it out: --batches, --contacts, --kills, --pg-restarts.
        var plan = full with
        {
            Batches = args.Int("batches", full.Batches),
            ContactsPerBatch = args.Int("contacts", full.ContactsPerBatch),
            Kills = args.Int("kills", full.Kills),
            PostgresRestarts = args.Int("pg-restarts", full.PostgresRestarts),
        };
        var root = CheckoutRoot();
        var folder = Path.Combine(root, ".local", "drill");
        var app = Path.Combine(folder, "app");
        await PublishAsync(root, app);

        await using var database = await RunDatabase.OpenAsync(args, "fault_drill");
        var target = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString);
        Console.Error.WriteLine($"database {target.Database} on {target.Host}:{target.Port}");
        if (database.Server is null) Console.Error.WriteLine("--database-url given: the drill does not restart a database it did not start (pg_restarts 0)");
        var env = new DrillEnvironment(
            database.ConnectionString,
            () => PublishedService(app),
            database.Server is { } server ? ct => server.RestartImmediatelyAsync(ct) : null,
            Path.Combine(folder, "logs-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")),
            Console.Error);
        var report = await FaultDrill.RunAsync(plan, env, CancellationToken.None);
        Console.WriteLine(report.ToJson());
        return report is { Lost: 0, DoubleDials: 0, ConcurrencyViolations: 0, PaceViolations: 0 } && report.ContactsFinal == report.ContactsTotal
            && report.BadInputsRefusedClean == report.BadInputsTried ? 0 : 1;
    }

    private static ProcessStartInfo PublishedService(string app)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = app };
        start.ArgumentList.Add(Path.Combine(app, "Dispatcher.Web.dll"));
        return start;
    }

    private static async Task PublishAsync(string root, string output)
    {
        Console.Error.WriteLine($"publishing the service into {output}");
        var publish = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "publish", Path.Combine(root, "Dispatcher.Web", "Dispatcher.Web.csproj"), "-c", "Release", "-o", output, "--nologo", "-v", "quiet" })
            publish.ArgumentList.Add(arg);
        using var process = Process.Start(publish)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet publish failed:\n{await stdout}\n{await stderr}");
    }

    private static string CheckoutRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "Dispatcher.sln"))) return folder.FullName;
        throw new DirectoryNotFoundException($"no Dispatcher.sln above {AppContext.BaseDirectory}");
    }
}
