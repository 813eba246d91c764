using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Dispatcher.Testing;

/// <summary>
/// A private PostgreSQL cluster in a temporary folder, listening on a free port on 127.0.0.1.
/// Shared by the tests and Dispatcher.Bench (which links this file), so it depends only on the BCL and Npgsql.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    private const string FolderPrefix = "dispatcher-pg-";
    private const string OwnerFileName = "owner.pid";
    private const int StartAttempts = 3;

    // Stops the cluster and deletes its folder once the owning process is gone. It runs outside the test process because
    // vstest kills the test host if it takes more than about 100 ms to exit, easily exceeded on a busy machine, and then
    // neither DisposeAsync nor the ProcessExit handler gets to run. Arguments: owner pid, folder, stop command.
    private const string WatchdogScript = """
        exec </dev/null >/dev/null 2>&1
        owner=$1 folder=$2
        shift 2
        while kill -0 "$owner" && [ -d "$folder" ]; do sleep 0.2; done
        [ -d "$folder" ] && "$@"
        rm -rf "$folder"
        """;

    // initdb and pg_ctl refuse to run as root, so as root every server tool runs as the postgres OS user.
    private static readonly bool RunAsPostgresUser = Environment.IsPrivilegedProcess;

    // The postgres user must be able to reach the cluster folder; root's TMPDIR may point somewhere it cannot.
    private static readonly string TempRoot = RunAsPostgresUser ? "/tmp" : Path.GetTempPath();

    private readonly string _binDir;
    private readonly string _folder;
    private readonly EventHandler _stopAtExit;
    private DatabaseAdmin? _admin;
    private int _stopped;

    private ThrowawayPostgres(string binDir, string folder)
    {
        _binDir = binDir;
        _folder = folder;
        _stopAtExit = (_, _) => StopAndDeleteAsync().GetAwaiter().GetResult();
    }

    /// <summary>The folder of the PostgreSQL server binaries this cluster runs.</summary>
    public string BinDir => _binDir;

    /// <summary>Npgsql connection string for the "postgres" database as the superuser.</summary>
    public string AdminConnectionString { get; private set; } = "";

    internal DatabaseAdmin Admin => _admin ?? throw new InvalidOperationException("The cluster has not started.");

    private string DataDir => DataDirOf(_folder);
    private string LogFile => Path.Combine(_folder, "postgres.log");

    public static async Task<ThrowawayPostgres> StartAsync(CancellationToken ct = default)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("ThrowawayPostgres runs PostgreSQL's Unix tools and needs Linux or macOS.");
        var binDir = await FindBinDirAsync(ct);
        await RemoveAbandonedClustersAsync(binDir);

        var folder = Path.Combine(TempRoot, FolderPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        await File.WriteAllTextAsync(Path.Combine(folder, OwnerFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ct);

        var cluster = new ThrowawayPostgres(binDir, folder);
        try
        {
            StartWatchdog(binDir, folder);
            await cluster.InitializeAsync(ct);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public Task<string> CreateDatabaseAsync(string name, CancellationToken ct = default) => Admin.CreateDatabaseAsync(name, ct);

    /// <summary>Drops a database, disconnecting whoever is still using it.</summary>
    public Task DropDatabaseAsync(string name, CancellationToken ct = default) => Admin.DropDatabaseAsync(name, ct);

    /// <summary>
    /// pg_ctl restart -m immediate: every backend killed without a checkpoint, then crash recovery
    /// on the same port (the fault drill's database restart).
    /// </summary>
    public Task RestartImmediatelyAsync(CancellationToken ct = default) =>
        RunServerToolAsync("pg_ctl", ["-D", DataDir, "-w", "-t", "60", "-l", LogFile, "-m", "immediate", "restart"], ct);

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= _stopAtExit;
        await StopAndDeleteAsync();
    }

    private static void StartWatchdog(string binDir, string folder)
    {
        var startInfo = new ProcessStartInfo("sh")
        {
            // Own pipes, closed right away, so the watchdog never holds on to the test host's output.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TempRoot,
        };
        string[] stop = [Path.Combine(binDir, "pg_ctl"), "-D", DataDirOf(folder), "-m", "immediate", "stop"];
        if (RunAsPostgresUser)
            stop = ["runuser", "-u", "postgres", "--", .. stop];
        string[] args = ["-c", WatchdogScript, "watchdog", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), folder, .. stop];
        foreach (var arg in args)
            startInfo.ArgumentList.Add(arg);
        Process.Start(startInfo)!.Dispose();
    }

    private async Task InitializeAsync(CancellationToken ct)
    {
        if (RunAsPostgresUser)
            await RunAsync("chown", ["-R", "postgres:", _folder], ct);

        await RunServerToolAsync("initdb", ["-D", DataDir, "-A", "trust", "-U", "postgres", "--encoding=UTF8",
            // A fixed locale keeps sorting identical on every machine and avoids failing on an ungenerated host locale.
            "--locale=C",
            // Only initdb's own fsyncs are skipped; the running server keeps default durability.
            "--no-sync"], ct);

        var settings = new StringBuilder()
            .AppendLine("listen_addresses = '127.0.0.1'")
            .AppendLine($"unix_socket_directories = '{DataDir.Replace("'", "''")}'")
            .AppendLine("max_connections = 300");
        if (await HasExtensionAsync(_binDir, "pg_stat_statements", ct))
        {
            settings.AppendLine("shared_preload_libraries = 'pg_stat_statements'")
                .AppendLine("pg_stat_statements.track = top");
        }
        // Appending keeps the file's owner (postgres when running as root).
        await File.AppendAllTextAsync(Path.Combine(DataDir, "postgresql.conf"), settings.ToString(), ct);

        AppDomain.CurrentDomain.ProcessExit += _stopAtExit;
        await StartServerAsync(ct);
    }

    private async Task StartServerAsync(CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FindFreePort();
            try
            {
                await RunServerToolAsync("pg_ctl", ["-D", DataDir, "-w", "-t", "60", "-l", LogFile, "-o", $"-p {port}", "start"], ct);
                AdminConnectionString = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1",
                    Port = port,
                    Username = "postgres",
                    Database = "postgres",
                }.ConnectionString;
                _admin = new DatabaseAdmin(AdminConnectionString);
                return;
            }
            // The port was free when probed but another process may have taken it before the server bound it.
            catch (InvalidOperationException) when (attempt < StartAttempts && ReadLogTail().Contains("Address already in use"))
            {
            }
        }
    }

    private async Task StopAndDeleteAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
            return;
        if (_admin is not null)
            await _admin.DisposeAsync();
        await StopAndDeleteFolderAsync(_binDir, _folder);
    }

    private static async Task StopAndDeleteFolderAsync(string binDir, string folder)
    {
        var pidFile = Path.Combine(DataDirOf(folder), "postmaster.pid");
        if (File.Exists(pidFile))
        {
            // Best effort: the server may already be gone, and the folder goes away regardless.
            try
            {
                // -W: pg_ctl's own wait polls only every 100 ms; the pid file is watched here instead.
                await RunServerToolAsync(binDir, "pg_ctl", ["-D", DataDirOf(folder), "-W", "-m", "immediate", "stop"], CancellationToken.None);
                // The postmaster deletes its pid file last, after its children have exited.
                var deadline = Environment.TickCount64 + 10_000;
                while (File.Exists(pidFile) && Environment.TickCount64 < deadline)
                    await Task.Delay(5, CancellationToken.None);
            }
            catch (InvalidOperationException) { }
        }
        DeleteFolder(folder);
    }

    private static string DataDirOf(string folder) => Path.Combine(folder, "data");

    private static void DeleteFolder(string folder)
    {
        // The data goes first so that the owner marker survives a failed delete: a later run, seeing the owner dead, retries.
        var dataDir = DataDirOf(folder);
        try
        {
            if (Directory.Exists(dataDir))
                Directory.Delete(dataDir, recursive: true);
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    // Clusters whose owner died without cleaning up, and whose watchdog died too (say, the whole process group was
    // killed), would otherwise run until reboot and leave their folders behind for good.
    private static async Task RemoveAbandonedClustersAsync(string binDir)
    {
        foreach (var folder in Directory.EnumerateDirectories(TempRoot, FolderPrefix + "*"))
        {
            string owner;
            try { owner = await File.ReadAllTextAsync(Path.Combine(folder, OwnerFileName)); }
            // No marker yet (another process is still creating the folder), or not ours to read.
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }

            if (int.TryParse(owner, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsAlive(pid))
                continue;
            await StopAndDeleteFolderAsync(binDir, folder);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static int FindFreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }

    private static async Task<string> FindBinDirAsync(CancellationToken ct)
    {
        var fromEnv = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            return File.Exists(Path.Combine(fromEnv, "initdb"))
                ? fromEnv
                : throw new InvalidOperationException($"PG_BIN is set to '{fromEnv}', but it contains no initdb.");
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.EnumerateDirectories(debianRoot)
                .Select(dir => Path.Combine(dir, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => double.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), NumberStyles.Float,
                    CultureInfo.InvariantCulture, out var version) ? version : -1)
                .FirstOrDefault();
            if (newest is not null)
                return newest;
        }

        try
        {
            var fromPgConfig = (await RunAsync("pg_config", ["--bindir"], ct)).Trim();
            if (File.Exists(Path.Combine(fromPgConfig, "initdb")))
                return fromPgConfig;
        }
        catch (InvalidOperationException) { }

        throw new InvalidOperationException(
            "No PostgreSQL server binaries found: set PG_BIN to the folder containing initdb and pg_ctl, "
            + $"or install PostgreSQL (on Debian: apt-get install postgresql) so that {debianRoot}/<version>/bin/initdb exists.");
    }

    private static async Task<bool> HasExtensionAsync(string binDir, string extension, CancellationToken ct)
    {
        var shareDirs = new List<string>();
        if (File.Exists(Path.Combine(binDir, "pg_config")))
        {
            try { shareDirs.Add((await RunAsync(Path.Combine(binDir, "pg_config"), ["--sharedir"], ct)).Trim()); }
            catch (InvalidOperationException) { }
        }
        // Debian layout without pg_config: /usr/lib/postgresql/<version>/bin -> /usr/share/postgresql/<version>.
        var version = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(binDir)));
        shareDirs.Add(Path.Combine("/usr/share/postgresql", version ?? ""));
        return shareDirs.Any(dir => File.Exists(Path.Combine(dir, "extension", extension + ".control")));
    }

    private Task RunServerToolAsync(string tool, IReadOnlyList<string> args, CancellationToken ct) =>
        RunServerToolAsync(_binDir, tool, args, ct, ReadLogTail);

    private static Task RunServerToolAsync(string binDir, string tool, IReadOnlyList<string> args, CancellationToken ct,
        Func<string>? logTail = null)
    {
        var path = Path.Combine(binDir, tool);
        return RunAsPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. args], ct, logTail)
            : RunAsync(path, args, ct, logTail);
    }

    private string ReadLogTail()
    {
        try
        {
            return string.Join('\n', File.ReadLines(LogFile).TakeLast(30));
        }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    /// <summary>Runs a command to completion and returns its stdout; throws with all its output if it fails.</summary>
    private static async Task<string> RunAsync(string file, IReadOnlyList<string> args, CancellationToken ct, Func<string>? logTail = null)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The postgres user may not be allowed into the caller's working directory.
            WorkingDirectory = TempRoot,
        };
        foreach (var arg in args)
            startInfo.ArgumentList.Add(arg);
        var commandLine = string.Join(' ', new[] { file }.Concat(args).Select(arg => arg.Contains(' ') ? $"'{arg}'" : arg));

        Process process;
        try
        {
            process = Process.Start(startInfo)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"Could not run `{commandLine}`: {e.Message}", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            var (output, errors) = (await stdout, await stderr);
            if (process.ExitCode == 0)
                return output;

            var message = new StringBuilder($"`{commandLine}` exited with code {process.ExitCode}.");
            if (output.Length > 0) message.Append("\nstdout:\n").Append(output.TrimEnd());
            if (errors.Length > 0) message.Append("\nstderr:\n").Append(errors.TrimEnd());
            var log = logTail?.Invoke() ?? "";
            if (log.Length > 0) message.Append("\nserver log (tail):\n").Append(log);
            throw new InvalidOperationException(message.ToString());
        }
    }
}

/// <summary>
/// Creates and drops databases through a superuser connection. Used by <see cref="ThrowawayPostgres"/>, and directly by
/// the test fixture when it targets an external server.
/// </summary>
internal sealed class DatabaseAdmin(string adminConnectionString) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(adminConnectionString);

    public async Task<string> CreateDatabaseAsync(string name, CancellationToken ct = default)
    {
        await using (var command = _dataSource.CreateCommand($"CREATE DATABASE {QuoteIdentifier(name)}"))
            await command.ExecuteNonQueryAsync(ct);
        return ConnectionStringFor(name);
    }

    public async Task DropDatabaseAsync(string name, CancellationToken ct = default)
    {
        // Idle pooled connections to a dropped database are dead; don't leave them in Npgsql's global pools.
        await using (var connection = new NpgsqlConnection(ConnectionStringFor(name)))
            NpgsqlConnection.ClearPool(connection);
        await using var command = _dataSource.CreateCommand($"DROP DATABASE IF EXISTS {QuoteIdentifier(name)} WITH (FORCE)");
        await command.ExecuteNonQueryAsync(ct);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private string ConnectionStringFor(string name) =>
        new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;

    private static string QuoteIdentifier(string name)
    {
        // PostgreSQL silently truncates longer names, which would make the returned connection string wrong.
        if (name.Length == 0 || Encoding.UTF8.GetByteCount(name) > 63)
            throw new ArgumentException($"Database name '{name}' must be 1 to 63 bytes long.", nameof(name));
        return "\"" + name.Replace("\"", "\"\"") + "\"";
    }
}
