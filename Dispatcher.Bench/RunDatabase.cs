extern alias web;

using web::Dispatcher.Web.Hosting;
using Dispatcher.Testing;
using Npgsql;

namespace Dispatcher.Bench;

/// <summary>
/// The database one benchmark run uses: the (empty) one --database-url names, or else a fresh
/// database on a throwaway PostgreSQL started from the machine's server binaries, which goes away
/// with this.
/// </summary>
public sealed class RunDatabase : IAsyncDisposable
{
    private readonly ThrowawayPostgres? _server;

    private RunDatabase(ThrowawayPostgres? server, string connectionString)
    {
        _server = server;
        ConnectionString = connectionString;
        // Its processes can be looked at only when the server runs on this machine.
        IsOnThisMachine = server is not null || new NpgsqlConnectionStringBuilder(connectionString).Host is "127.0.0.1" or "localhost" or "::1";
    }

    public string ConnectionString { get; }

    /// <summary>The throwaway server, when this run started one (null with --database-url).</summary>
    public ThrowawayPostgres? Server => _server;

    public bool IsOnThisMachine { get; }

    /// <param name="name">The database's name on a throwaway server.</param>
    public static async Task<RunDatabase> OpenAsync(Arguments args, string name)
    {
        if (args.Text("database-url") is { } url) return new RunDatabase(null, PostgresUrl.ToConnectionString(url));
        var server = await ThrowawayPostgres.StartAsync();
        try
        {
            return new RunDatabase(server, await server.CreateDatabaseAsync(name));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
