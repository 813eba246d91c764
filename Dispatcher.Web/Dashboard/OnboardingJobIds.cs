using Npgsql;
using NpgsqlTypes;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Which Hangfire job places an onboarding call: outbound_call_jobs.hangfire_job_id, which the
/// onboarding-on-Hangfire work adds. Until that column exists there is none, and the pages show no
/// links; this class is the one place that knows the column.
/// </summary>
public sealed class OnboardingJobIds(NpgsqlDataSource dataSource)
{
    private volatile bool _columnSeen;

    /// <summary>The job of each of these rows that has one.</summary>
    public async Task<IReadOnlyDictionary<long, string>> ForRowsAsync(IReadOnlyCollection<long> rowIds, CancellationToken ct)
    {
        var jobs = new Dictionary<long, string>();
        if (rowIds.Count == 0 || !await ColumnExistsAsync(ct)) return jobs;
        await using var command = dataSource.CreateCommand("SELECT id, hangfire_job_id::text FROM outbound_call_jobs WHERE id = ANY ($1) AND hangfire_job_id IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = rowIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) jobs[reader.GetInt64(0)] = reader.GetString(1);
        return jobs;
    }

    /// <summary>The onboarding row a Hangfire job places, if any.</summary>
    public async Task<long?> RowOfJobAsync(string jobId, CancellationToken ct)
    {
        if (!await ColumnExistsAsync(ct)) return null;
        await using var command = dataSource.CreateCommand("SELECT id FROM outbound_call_jobs WHERE hangfire_job_id::text = $1 LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        return await command.ExecuteScalarAsync(ct) as long?;
    }

    // Once there, a column stays: only its absence is asked again.
    private async Task<bool> ColumnExistsAsync(CancellationToken ct)
    {
        if (_columnSeen) return true;
        await using var command = dataSource.CreateCommand("""
            SELECT EXISTS (SELECT 1 FROM information_schema.columns
                           WHERE table_name = 'outbound_call_jobs' AND column_name = 'hangfire_job_id' AND table_schema = current_schema())
            """);
        return _columnSeen = await command.ExecuteScalarAsync(ct) is true;
    }
}
