using Npgsql;

namespace Dispatcher.Jobs;

/// <summary>
/// What every connection pool of the service sets on DATABASE_URL, unless the connection string
/// says otherwise. The same few statements run all day: they are prepared (parsing and planning
/// were a sixth of the database's time on the dial path). No session state is kept, so the DISCARD
/// ALL Npgsql sends on each return to the pool (a statement and a commit every time) is skipped.
/// </summary>
public static class ServiceConnectionString
{
    public static NpgsqlConnectionStringBuilder Builder(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)) builder.NoResetOnClose = true;
        return builder;
    }
}
