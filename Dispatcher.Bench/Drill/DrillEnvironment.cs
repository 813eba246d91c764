using System.Diagnostics;

namespace Dispatcher.Bench.Drill;

/// <summary>
/// Where a drill runs: an empty database, how to start one instance of the service as a process
/// (the caller fills the environment further), how to restart PostgreSQL in immediate mode (null
/// where the drill may not, e.g. a database it did not start), a folder for the instances' logs,
/// and where progress lines go.
/// </summary>
public sealed record DrillEnvironment(
    string ConnectionString,
    Func<ProcessStartInfo> StartService,
    Func<CancellationToken, Task>? RestartDatabase,
    string LogFolder,
    TextWriter Progress);
