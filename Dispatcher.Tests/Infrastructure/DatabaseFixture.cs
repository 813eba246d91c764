using System.Security.Cryptography;
using Npgsql;

namespace Dispatcher.Testing;

/// <summary>
/// Class fixture that gives each test class its own freshly created database, dropped when the class is done.
/// All fixtures share one server per test process, chosen by <see cref="TestServerChoice"/>: the server named by
/// <c>DISPATCHER_TEST_DATABASE_URL</c>, a Testcontainers container, or a <see cref="ThrowawayPostgres"/> cluster.
/// </summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    // Task.Run keeps the shared start-up off the xunit synchronization context of whichever class asks first.
    private static readonly Lazy<Task<DatabaseAdmin>> Server = new(() => Task.Run(StartServerAsync));

    private readonly List<string> _databases = [];
    private NpgsqlDataSource? _dataSource;

    /// <summary>Connection string of this test class's own database.</summary>
    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource =>
        _dataSource ?? throw new InvalidOperationException("DatabaseFixture.InitializeAsync has not run.");

    public async Task InitializeAsync()
    {
        ConnectionString = await CreateExtraDatabaseAsync();
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    /// <summary>Creates another empty database, for tests that need isolation from the rest of the class; dropped with the fixture.</summary>
    public async Task<string> CreateExtraDatabaseAsync(CancellationToken ct = default)
    {
        var admin = await Server.Value.WaitAsync(ct);
        var name = "t_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        // Recorded before creating it, so that a creation cut short by cancellation is still cleaned up.
        lock (_databases)
            _databases.Add(name);
        return await admin.CreateDatabaseAsync(name, ct);
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
            await _dataSource.DisposeAsync();

        string[] databases;
        lock (_databases)
            databases = [.. _databases];
        if (databases.Length == 0)
            return;

        var admin = await Server.Value;
        foreach (var name in databases)
            await admin.DropDatabaseAsync(name);
    }

    // One line on stderr says which server and why; the server lives as long as the test process.
    private static async Task<DatabaseAdmin> StartServerAsync() => (await TestServerChoice.StartAsync()).Admin;
}
