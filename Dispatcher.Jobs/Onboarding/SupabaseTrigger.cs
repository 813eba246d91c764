using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>
/// On a Supabase database (auth.users exists), installs or refreshes the
/// on_auth_user_created_onboarding trigger from the shipped SQL at start-up.
/// </summary>
public sealed class SupabaseTrigger(NpgsqlDataSource dataSource, ILogger<SupabaseTrigger> logger) : IHostedService
{
    public static string Sql { get; } = Read();

    public async Task StartAsync(CancellationToken ct)
    {
        await using var exists = dataSource.CreateCommand("SELECT to_regclass('auth.users') IS NOT NULL");
        if (!(bool)(await exists.ExecuteScalarAsync(ct))!) return;
        await using var install = dataSource.CreateCommand(Sql);
        await install.ExecuteNonQueryAsync(ct);
        logger.LogInformation("Installed the on_auth_user_created_onboarding trigger on auth.users");
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    private static string Read()
    {
        using var stream = typeof(SupabaseTrigger).Assembly.GetManifestResourceStream("Dispatcher.Jobs.Onboarding.Sql.supabase_onboarding_trigger.sql")!;
        return new StreamReader(stream).ReadToEnd();
    }
}
