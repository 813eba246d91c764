using System.Diagnostics;
using System.Globalization;

namespace Dispatcher.Bench;

/// <summary>
/// CPU seconds used by this process (the service, the fakes and the benchmark) and by PostgreSQL's
/// server processes; Postgres is null where they cannot be read (another machine, not Linux).
/// </summary>
public readonly record struct CpuTime(double Dotnet, double? Postgres)
{
    /// <param name="serverPids">The server's processes (pg_stat_activity), or null when the server is on another machine.</param>
    public static async Task<CpuTime> ReadAsync(IEnumerable<int>? serverPids)
    {
        var dotnet = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        if (serverPids is null || !OperatingSystem.IsLinux()) return new CpuTime(dotnet, null);
        double ticks = 0;
        foreach (var pid in serverPids)
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
        return new CpuTime(dotnet, ticks / 100.0); // USER_HZ is 100 on Linux
    }

    /// <summary>What was used from <paramref name="before"/> until this reading.</summary>
    public CpuTime Since(CpuTime before) => new(Dotnet - before.Dotnet, Postgres - before.Postgres);
}
