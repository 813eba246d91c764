using Dispatcher.Jobs;
using Npgsql;

namespace Dispatcher.Web.Hosting;

public static class DatabaseSetup
{
    public const int MaxConnections = 16;

    /// <summary>
    /// The domain's NpgsqlDataSource on DATABASE_URL, with the pool settings every pool of the service
    /// has (<see cref="ServiceConnectionString"/>). At most <see cref="MaxConnections"/> connections, so
    /// that three instances (with Hangfire's own) fit a small database's 100. Settings given in the connection string win.
    /// </summary>
    public static IServiceCollection AddDatabase(this IServiceCollection services, string connectionString)
    {
        var builder = ServiceConnectionString.Builder(connectionString);
        if (!connectionString.Contains("Pool Size", StringComparison.OrdinalIgnoreCase)) builder.MaxPoolSize = MaxConnections;
        services.AddSingleton(_ => NpgsqlDataSource.Create(builder.ConnectionString));
        return services;
    }
}
