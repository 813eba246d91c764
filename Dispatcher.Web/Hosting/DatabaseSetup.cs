using Npgsql;

namespace Dispatcher.Web.Hosting;

public static class DatabaseSetup
{
    public const int MaxConnections = 16;

    /// <summary>
    /// The domain's NpgsqlDataSource on DATABASE_URL. The same few statements run all day: they are
    /// prepared (planning was a sixth of the database's time on the dial path), and the DISCARD ALL
    /// Npgsql sends on each return to the pool (a statement and a commit every time) is skipped, as
    /// no session state is kept. At most <see cref="MaxConnections"/> connections, so that three
    /// instances (with Hangfire's own) fit a small database's 100. Settings given in the connection string win.
    /// </summary>
    public static IServiceCollection AddDatabase(this IServiceCollection services, string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)) builder.NoResetOnClose = true;
        if (!connectionString.Contains("Pool Size", StringComparison.OrdinalIgnoreCase)) builder.MaxPoolSize = MaxConnections;
        services.AddSingleton(_ => NpgsqlDataSource.Create(builder.ConnectionString));
        return services;
    }
}
