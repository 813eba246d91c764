using Dispatcher.Testing;
using Npgsql;

namespace Dispatcher.Tests.Shipping;

/// <summary>A fact that needs the machine's PostgreSQL server binaries, as ./run.sh's own cluster does.</summary>
public sealed class PostgresBinariesFactAttribute : FactAttribute
{
    public PostgresBinariesFactAttribute()
    {
        var found = Environment.GetEnvironmentVariable("PG_BIN") is { Length: > 0 } bin
            ? File.Exists(Path.Combine(bin, "initdb"))
            : Directory.Exists("/usr/lib/postgresql") && Directory.GetDirectories("/usr/lib/postgresql").Any(d => File.Exists(Path.Combine(d, "bin", "initdb")));
        if (!found) Skip = "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin or PG_BIN) for run.sh's local cluster";
    }
}

/// <summary>./run.sh, the README's first command.</summary>
[Collection(WholeServiceCollection.Name)]
public sealed class RunScriptTests : IDisposable
{
    private readonly string _localDir = Directory.CreateTempSubdirectory("dispatcher-run-sh-").FullName;

    public RunScriptTests()
    {
        // As root, run.sh's cluster runs as the postgres user, which must reach the folder as it would a checkout's.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_localDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    [Fact]
    public async Task Help_lists_the_options_and_exits_0()
    {
        var (exitCode, stdout, _) = await Checkout.RunAsync("bash", [Checkout.PathOf("run.sh"), "--help"]);

        Assert.Equal(0, exitCode);
        foreach (var option in new[] { "--port", "--clean", "--no-demo", "--database-url" }) Assert.Contains(option, stdout);
    }

    [Fact]
    public async Task An_unknown_option_is_refused_before_anything_starts()
    {
        var (exitCode, _, stderr) = await Checkout.RunAsync("bash", [Checkout.PathOf("run.sh"), "--colour"], new Dictionary<string, string> { ["DISPATCHER_LOCAL_DIR"] = _localDir });

        Assert.Equal(2, exitCode);
        Assert.Contains("--colour", stderr);
        Assert.Empty(Directory.GetFileSystemEntries(_localDir));
    }

    [Fact]
    public async Task An_option_missing_its_value_is_a_usage_error_like_any_other()
    {
        var (exitCode, _, stderr) = await Checkout.RunAsync("bash", [Checkout.PathOf("run.sh"), "--port"], new Dictionary<string, string> { ["DISPATCHER_LOCAL_DIR"] = _localDir });

        Assert.Equal(2, exitCode);
        Assert.StartsWith("run.sh: --port needs a number", stderr.Trim());
    }

    [Fact]
    public async Task A_port_in_use_is_refused_before_anything_starts_or_builds()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, _, stderr) = await Checkout.RunAsync("bash", [Checkout.PathOf("run.sh"), "--port", port.ToString()],
            new Dictionary<string, string> { ["DISPATCHER_LOCAL_DIR"] = _localDir });

        Assert.Equal(2, exitCode);
        Assert.Contains($"port {port} is in use", stderr);
        Assert.Empty(Directory.GetFileSystemEntries(_localDir));
    }

    [PostgresBinariesFact]
    public async Task With_nothing_configured_it_starts_its_own_PostgreSQL_and_the_demo_and_SIGTERM_stops_both_cleanly()
    {
        await using var run = RunScript.Start(_localDir, new Dictionary<string, string>
        {
            ["SIMULATOR_ANSWER_SECONDS"] = "0.2-0.5",
            ["SIMULATOR_CALL_SECONDS"] = "0.5-1",
        });
        await run.WaitUntilReadyAsync(TimeSpan.FromMinutes(5));

        using var http = new HttpClient { BaseAddress = new Uri(run.BaseUrl) };
        Assert.Contains("telephony: simulated", await http.GetStringAsync("/healthz"));
        // The dashboard URL it prints opens the dashboard (local requests need no credentials).
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(run.ReadyUrl)).StatusCode);
        var database = $"Host=127.0.0.1;Port={run.PostgresPort};Username=postgres;Database=dispatcher";
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            await using var completed = dataSource.CreateCommand("SELECT count(*) FROM campaign_contacts WHERE status = 'completed'");
            await Eventually.Reaches(async () => (long)(await completed.ExecuteScalarAsync())!, count => count > 0,
                _ => $"no demo call completed:\n{run.Output}", TimeSpan.FromSeconds(60), every: TimeSpan.FromMilliseconds(250));
        }
        NpgsqlConnection.ClearAllPools();

        Assert.Equal(0, await run.StopAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("stopping PostgreSQL", run.Output);
        Assert.False(File.Exists(Path.Combine(_localDir, "postgres", "postmaster.pid")), "the local cluster is stopped");
        Assert.True(File.Exists(Path.Combine(_localDir, "postgres", "PG_VERSION")), "the local cluster is kept for the next run");
    }

    public void Dispose()
    {
        try { Directory.Delete(_localDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
