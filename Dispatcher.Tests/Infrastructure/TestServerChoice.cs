using Dispatcher.Web.Hosting;
using DotNet.Testcontainers.Builders;
using Testcontainers.PostgreSql;

namespace Dispatcher.Testing;

/// <summary>A PostgreSQL server for the tests: where to create databases, what it is, and what stops it (null: not ours to stop).</summary>
internal sealed record TestServer(DatabaseAdmin Admin, string Description, IAsyncDisposable? Lifetime);

/// <summary>
/// Which PostgreSQL server the tests use: the one in <c>DISPATCHER_TEST_DATABASE_URL</c> when set; else a
/// Testcontainers container where a Docker engine answers; else a <see cref="ThrowawayPostgres"/> cluster
/// from the machine's binaries. Says which, and why, in one line. Kept out of ThrowawayPostgres.cs, which
/// Dispatcher.Bench compiles too and which must not need Testcontainers.
/// </summary>
internal static class TestServerChoice
{
    public const string ServerUrlVariable = "DISPATCHER_TEST_DATABASE_URL";
    public const string Image = "postgres:17-alpine";

    /// <summary>The choice as the fixture makes it, from the environment; the line goes to stderr.</summary>
    public static Task<TestServer> StartAsync() => StartAsync(Console.Error, Environment.GetEnvironmentVariable(ServerUrlVariable));

    /// <param name="report">Where the one line goes.</param>
    /// <param name="url">The value of DISPATCHER_TEST_DATABASE_URL.</param>
    /// <param name="dockerEndpoint">The Docker engine to try; null: Testcontainers' own discovery (DOCKER_HOST, docker context, the default socket).</param>
    public static async Task<TestServer> StartAsync(TextWriter report, string? url, Uri? dockerEndpoint = null, CancellationToken ct = default)
    {
        if (!string.IsNullOrWhiteSpace(url))
        {
            DatabaseAdmin admin;
            try { admin = new DatabaseAdmin(PostgresUrl.ToConnectionString(url)); }
            catch (ArgumentException e) { throw new InvalidOperationException($"{ServerUrlVariable} is not usable: {e.Message}", e); }
            return Chosen(report, new TestServer(admin, $"the server in {ServerUrlVariable}", null), $"{ServerUrlVariable} is set");
        }

        string noEngine;
        try
        {
            var container = await StartContainerAsync(dockerEndpoint, ct);
            return Chosen(report, new TestServer(new DatabaseAdmin(container.GetConnectionString()), $"a Testcontainers container ({Image})", container),
                $"{ServerUrlVariable} is not set and a Docker engine answers");
        }
        // Without an engine Testcontainers' discovery fails fast in Build(); an engine named explicitly fails on its first call.
        catch (Exception e) when (e is DockerUnavailableException || e.GetBaseException() is HttpRequestException or System.Net.Sockets.SocketException)
        {
            noEngine = Why(e);
        }

        // Never stopped here: the cluster stops itself at process exit, after the last test class is done with it.
        var cluster = await ThrowawayPostgres.StartAsync(ct);
        return Chosen(report, new TestServer(cluster.Admin, $"a throwaway cluster from {cluster.BinDir}", cluster),
            $"{ServerUrlVariable} is not set and no Docker engine answers: {noEngine}");
    }

    private static async Task<PostgreSqlContainer> StartContainerAsync(Uri? dockerEndpoint, CancellationToken ct)
    {
        var builder = new PostgreSqlBuilder(Image)
            // As the throwaway cluster: several service instances per test class, each with its pools.
            .WithCommand("-c", "max_connections=300")
            // As the throwaway cluster: a fixed locale sorts the same on every machine.
            .WithEnvironment("POSTGRES_INITDB_ARGS", "--locale=C --encoding=UTF8");
        if (dockerEndpoint is not null) builder = builder.WithDockerEndpoint(dockerEndpoint);
        // Not disposed: Testcontainers' resource reaper removes the container when the test process ends.
        var container = builder.Build();
        await container.StartAsync(ct);
        return container;
    }

    private static TestServer Chosen(TextWriter report, TestServer server, string why)
    {
        report.WriteLine($"Dispatcher tests use PostgreSQL from {server.Description} ({why}).");
        return server;
    }

    /// <summary>Which endpoints failed, as Testcontainers lists them ("Failed to connect to Docker endpoint at ..."), else the root cause.</summary>
    private static string Why(Exception e)
    {
        var endpoints = e.Message.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.StartsWith("Failed to connect", StringComparison.Ordinal)).Select(l => l.TrimEnd('.')).Distinct().ToList();
        return endpoints.Count > 0 ? string.Join(" ", endpoints) : $"{e.GetBaseException().Message} ({e.GetBaseException().GetType().Name})";
    }
}
