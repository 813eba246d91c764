using Dispatcher.Jobs.HangfireJobs;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using Npgsql;
using System.Runtime.CompilerServices;

namespace Dispatcher.Tests.Hangfire;

/// <summary>
/// The dashboard's monitoring API (ours, paging by id first and counting only the states it shows)
/// answers what Hangfire.PostgreSql's answers: the same jobs on every page of every list, with the
/// same fields, and the same statistics (on a storage with no server, so nothing moves meanwhile);
/// and the index its pages walk exists once the service has started.
/// </summary>
public sealed class DashboardMonitoringApiTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string Schema = "hangfire";

    [Fact]
    public async Task Lists_and_statistics_are_the_same_as_hangfire_postgresqls()
    {
        // Hangfire logs through the logger factory of the service started last in the process: one must be alive.
        await using var app = DispatcherApp.Start(db.ConnectionString);
        var connectionString = await db.CreateExtraDatabaseAsync();
        var options = new PostgreSqlStorageOptions { SchemaName = Schema, PrepareSchemaIfNecessary = true, EnableTransactionScopeEnlistment = false };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(new NpgsqlConnectionStringBuilder(connectionString) { Enlist = false }.ConnectionString, options), options);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var dashboard = new DashboardJobStorage(storage, dataSource, Schema);
        var client = new BackgroundJobClient(storage);
        for (var i = 1; i <= 45; i++)
        {
            var dial = Job.FromExpression<DialBatchJob>(j => j.Run(i, $"Batch {i}", null, CancellationToken.None));
            var call = Job.FromExpression<CampaignCallJob>(j => j.CallAgain(i, $"contact {i}", null, CancellationToken.None));
            client.Create(dial, new SucceededState(null, 12 + i, 1800 + i));
            if (i % 2 == 0) client.Create(call, new FailedState(new CampaignCallFailedException($"Out of attempts {i}")) { Reason = "failed for good" });
            if (i % 5 == 0) client.Create(dial, new DeletedState());
            if (i % 7 == 0) client.Schedule<DialBatchJob>(j => j.Run(i, $"Batch {i}", null, CancellationToken.None), TimeSpan.FromDays(1));
            if (i % 9 == 0) client.Enqueue<DialBatchJob>("campaigns", j => j.Run(i, $"Batch {i}", null, CancellationToken.None));
        }
        // A job whose class is gone is listed with its load exception, as Hangfire lists it.
        var gone = client.Create(Job.FromExpression<DialBatchJob>(j => j.Run(0, "gone", null, CancellationToken.None)), new SucceededState(null, 1, 1));
        await using (var rename = dataSource.CreateCommand($"UPDATE {Schema}.job SET invocationdata = replace(invocationdata::text, 'DialBatchJob', 'RemovedJob')::jsonb WHERE id = {gone}"))
            await rename.ExecuteNonQueryAsync();

        var hangfire = storage.GetMonitoringApi();
        var ours = dashboard.GetMonitoringApi();
        Assert.IsType<DashboardMonitoringApi>(ours);
        foreach (var (from, count) in new[] { (0, 10), (10, 10), (40, 10), (44, 20), (0, 100), (200, 10) })
        {
            Assert.Equal(Shown(hangfire.SucceededJobs(from, count), j => (j.Job, j.Result, j.TotalDuration, j.SucceededAt, j.InSucceededState)),
                         Shown(ours.SucceededJobs(from, count), j => (j.Job, j.Result, j.TotalDuration, j.SucceededAt, j.InSucceededState)));
            Assert.Equal(Shown(hangfire.FailedJobs(from, count), j => (j.Job, j.Reason, j.ExceptionType, j.ExceptionMessage, j.ExceptionDetails, j.FailedAt, j.InFailedState)),
                         Shown(ours.FailedJobs(from, count), j => (j.Job, j.Reason, j.ExceptionType, j.ExceptionMessage, j.ExceptionDetails, j.FailedAt, j.InFailedState)));
            Assert.Equal(Shown(hangfire.ScheduledJobs(from, count), j => (j.Job, j.EnqueueAt, j.ScheduledAt, j.InScheduledState)),
                         Shown(ours.ScheduledJobs(from, count), j => (j.Job, j.EnqueueAt, j.ScheduledAt, j.InScheduledState)));
            Assert.Equal(Shown(hangfire.DeletedJobs(from, count), j => (j.Job, j.DeletedAt, j.InDeletedState)),
                         Shown(ours.DeletedJobs(from, count), j => (j.Job, j.DeletedAt, j.InDeletedState)));
            Assert.Equal(Shown(hangfire.ProcessingJobs(from, count), j => (j.Job, j.ServerId, j.StartedAt)),
                         Shown(ours.ProcessingJobs(from, count), j => (j.Job, j.ServerId, j.StartedAt)));
        }
        Assert.Equal(46, ours.SucceededJobs(0, 100).Count);
        Assert.NotNull(ours.SucceededJobs(0, 1).Single().Value.LoadException);

        Assert.Equal((hangfire.SucceededListCount(), hangfire.FailedCount(), hangfire.ScheduledCount(), hangfire.ProcessingCount(), hangfire.DeletedListCount()),
                     (ours.SucceededListCount(), ours.FailedCount(), ours.ScheduledCount(), ours.ProcessingCount(), ours.DeletedListCount()));

        var expected = hangfire.GetStatistics();
        var actual = ours.GetStatistics();
        Assert.Equal((expected.Enqueued, expected.Scheduled, expected.Processing, expected.Failed, expected.Succeeded, expected.Deleted, expected.Servers, expected.Recurring, expected.Queues),
                     (actual.Enqueued, actual.Scheduled, actual.Processing, actual.Failed, actual.Succeeded, actual.Deleted, actual.Servers, actual.Recurring, actual.Queues));
        Assert.Equal((5L, 6L, 22L), (actual.Enqueued, actual.Scheduled, actual.Failed));
    }

    [Fact]
    public async Task The_service_indexes_hangfires_jobs_by_state_and_id_at_start_up()
    {
        var connectionString = await db.CreateExtraDatabaseAsync();
        await using (var app = DispatcherApp.Start(connectionString)) { }
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(
            $"SELECT indexdef FROM pg_indexes WHERE schemaname = '{Schema}' AND indexname = 'ix_dispatcher_job_statename_id'");
        Assert.Equal($"CREATE INDEX ix_dispatcher_job_statename_id ON {Schema}.job USING btree (statename, id)", await command.ExecuteScalarAsync());
    }

    /// <summary>A list page as the dashboard shows it: job ids in order with the fields it prints (jobs compared by what they call).</summary>
    private static List<string> Shown<T>(JobList<T> page, Func<T, object> fields) =>
        page.Select(p => $"{p.Key}: {Describe(fields(p.Value))}").ToList();

    private static string Describe(object fields)
    {
        var tuple = (ITuple)fields;
        return string.Join(" | ", Enumerable.Range(0, tuple.Length).Select(i =>
            tuple[i] is Job job ? $"{job.Type.Name}.{job.Method.Name}({string.Join(",", job.Args)})" : tuple[i]?.ToString()));
    }
}
