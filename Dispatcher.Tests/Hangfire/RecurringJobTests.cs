using System.Collections.Concurrent;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using Hangfire;
using Hangfire.Server;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Tests.Hangfire;

/// <summary>Recurring jobs are registered at start-up under stable ids, and each occurrence runs once however many instances run.</summary>
public sealed class RecurringJobTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task The_service_registers_its_recurring_jobs_with_their_cron_from_settings()
    {
        await using var app = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["CAMPAIGN_TICK_CRON"] = "*/20 * * * * *" });

        await Eventually.That(() => Recurring(app).Count >= 2, "recurring jobs registered");
        var jobs = Recurring(app);
        Assert.Equal("*/20 * * * * *", jobs["campaign-tick"]);
        Assert.Equal("*/5 * * * *", jobs["reconcile-calls"]);
    }

    [Fact]
    public async Task Three_instances_run_each_occurrence_of_a_per_second_recurring_job_once()
    {
        var database = await db.CreateExtraDatabaseAsync();
        var ran = new ConcurrentBag<(string JobId, long Occurrence)>();
        void Services(IServiceCollection services)
        {
            services.AddSingleton(ran);
            services.AddSingleton(new RecurringJobDeclaration("every-second", "* * * * * *",
                (manager, cron, options) => manager.AddOrUpdate<OccurrenceJob>("every-second", j => j.Run(null), cron, options)));
        }
        var window = System.Diagnostics.Stopwatch.StartNew();
        var apps = Enumerable.Range(0, 3).Select(_ => DispatcherApp.Start(database, services: Services)).ToList();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(10));
        }
        finally
        {
            foreach (var app in apps) await app.DisposeAsync();
        }

        // At most one a second while any instance ran (and a few lost to start-up and shutdown).
        Assert.InRange(ran.Count, 5, (int)window.Elapsed.TotalSeconds + 1);
        Assert.Equal(ran.Count, ran.Select(r => r.JobId).Distinct().Count());
        // One job per scheduled second: Hangfire stamps each with the occurrence it stands for.
        Assert.Equal(ran.Count, ran.Select(r => r.Occurrence).Distinct().Count());
    }

    private static Dictionary<string, string> Recurring(DispatcherApp app)
    {
        using var connection = app.Get<JobStorage>().GetConnection();
        return connection.GetRecurringJobs().ToDictionary(j => j.Id, j => j.Cron);
    }

    public sealed class OccurrenceJob(ConcurrentBag<(string JobId, long Occurrence)> ran)
    {
        [Queue(HangfireSettings.DefaultQueue)]
        public void Run(PerformContext? context)
        {
            var occurrence = context!.GetJobParameter<long?>("Time") ?? 0;
            ran.Add((context.BackgroundJob.Id, occurrence));
        }
    }
}
