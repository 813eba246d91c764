using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.Server;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Hangfire on the service's PostgreSQL: its tables in their own schema, two servers per
/// instance (campaigns, whose many workers poll rarely; onboarding and default), the filters
/// that carry our retry policies, and the recurring jobs registered at start-up.
/// </summary>
public static class HangfireSetup
{
    /// <summary>
    /// Storage, activator and filters are this service provider's own, not Hangfire's process-wide
    /// defaults (JobStorage.Current, JobActivator.Current), so several service instances in one
    /// process (the tests, the benchmarks) each run their own jobs.
    /// </summary>
    public static IServiceCollection AddDispatcherHangfire(this IServiceCollection services, string connectionString, HangfireSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton<JobStorage>(_ => Storage(connectionString, "dispatcher-hangfire", settings.MainConnections, settings, settings.QueuePollInterval,
            settings.InvisibilityTimeout, slidingInvisibility: true, prepareSchema: true));
        services.AddSingleton(sp =>
        {
            sp.GetRequiredService<JobStorage>(); // the main storage installs the schema first
            return new CampaignStorage(Storage(connectionString, "dispatcher-hangfire-campaigns", settings.CampaignConnections, settings,
                settings.CampaignQueuePollInterval, settings.CampaignInvisibilityTimeout, slidingInvisibility: false, prepareSchema: false));
        });
        // The dashboard reads through our monitoring API: Hangfire.PostgreSql's is slow over a million jobs.
        services.AddSingleton(sp => new DashboardJobStorage(sp.GetRequiredService<JobStorage>(), sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton(sp =>
        {
            var filters = new JobFilterCollection();
            foreach (var declaration in sp.GetServices<JobFilterDeclaration>()) filters.Add(declaration.Create(sp), declaration.Order);
            return filters;
        });
        services.AddSingleton<IJobFilterProvider>(sp => new JobFilterProviderCollection(JobFilterProviders.Providers, sp.GetRequiredService<JobFilterCollection>()));
        services.AddHangfire((sp, config) => config
            .UseLogProvider(new HangfireLogProvider(sp.GetRequiredService<ILoggerFactory>()))
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());

        services.AddSingleton<IHostedService>(sp => new HangfireServerHost(() => new BackgroundJobServer(ServerOptions(sp, settings, "campaigns",
            [HangfireSettings.CampaignsQueue], settings.CampaignWorkers, lightweight: true), sp.GetRequiredService<CampaignStorage>().Storage, [])));
        services.AddSingleton<IHostedService>(sp => new HangfireServerHost(() => new BackgroundJobServer(ServerOptions(sp, settings, "main",
            [HangfireSettings.OnboardingQueue, HangfireSettings.DefaultQueue], settings.OnboardingWorkers + settings.DefaultWorkers, lightweight: false),
            sp.GetRequiredService<JobStorage>(), sp.GetServices<IBackgroundProcess>())));
        services.AddHostedService<RecurringJobsRegistration>();
        services.AddHostedService<ThreadPoolReserve>();
        // The host that knows its users (the dashboard) registers its own first.
        services.TryAddSingleton(new RequeueAuthor(() => null));
        services.AddSingleton(new JobFilterDeclaration(sp => new JobDurationFilter(sp.GetRequiredService<IMeterFactory>())));
        services.AddSingleton(new JobFilterDeclaration(sp => new JobLogScopeFilter(sp.GetRequiredService<ILogger<JobLogScopeFilter>>())));
        return services;
    }

    /// <summary>The server names this instance registers, as Hangfire's Servers page lists them (before the ":guid").</summary>
    public static IReadOnlyList<string> ServerNames(HangfireSettings settings) => [$"{settings.InstanceName}:campaigns", $"{settings.InstanceName}:main"];

    /// <param name="applicationName">Names the storage's connections in pg_stat_activity, and gives it a connection pool of its own.</param>
    /// <param name="slidingInvisibility">
    /// Running jobs keep their fetch alive (a statement every fifth of the timeout), so a short
    /// timeout hands on only the jobs of a process that died. The keep-alive runs with the storage's
    /// processes, which a lightweight server (campaigns) does not run.
    /// </param>
    private static PostgreSqlStorage Storage(string connectionString, string applicationName, int maxConnections, HangfireSettings settings,
        TimeSpan queuePollInterval, TimeSpan invisibilityTimeout, bool slidingInvisibility, bool prepareSchema)
    {
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = settings.Schema,
            QueuePollInterval = queuePollInterval,
            InvisibilityTimeout = invisibilityTimeout,
            UseSlidingInvisibilityTimeout = slidingInvisibility,
            DistributedLockTimeout = settings.DistributedLockTimeout,
            PrepareSchemaIfNecessary = prepareSchema,
            // Prepared transactions are off in PostgreSQL by default; never escalate to them.
            EnableTransactionScopeEnlistment = false,
            // Long polling hung workers with Npgsql 10 in a trial here: off, as by default.
            EnableLongPolling = false,
        };
        // Its commits do not wait for their WAL flush: the domain row that names a job commits after
        // the job was created, and its flush makes the job's earlier WAL durable too; a state change
        // lost with a database crash only means a job performed again, which every job of ours allows.
        var builder = ServiceConnectionString.Builder(connectionString);
        builder.ApplicationName = applicationName;
        builder.MaxPoolSize = maxConnections;
        builder.Enlist = false;
        builder.Options = string.Join(' ', builder.Options, "-c synchronous_commit=off").Trim();
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(builder.ConnectionString, options), options);
    }

    private static BackgroundJobServerOptions ServerOptions(IServiceProvider sp, HangfireSettings settings, string name, string[] queues, int workers,
        bool lightweight) => new()
    {
        ServerName = $"{settings.InstanceName}:{name}",
        Queues = queues,
        WorkerCount = workers,
        // The campaigns server only works its queue: schedulers, expiration and recurring jobs run in the main one.
        IsLightweightServer = lightweight,
        // A running job's state is checked this often (a query each) to cancel it when deleted or requeued meanwhile. A
        // dial job checks its lease on the batch itself, so its many long runs are checked rarely.
        CancellationCheckInterval = lightweight ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(5),
        ShutdownTimeout = settings.ShutdownTimeout,
        SchedulePollingInterval = settings.SchedulePollingInterval,
        // Due scheduled jobs enqueued four at a time: a thousand batches due together queue up behind one another.
        MaxDegreeOfParallelismForSchedulers = lightweight ? 1 : 4,
        Activator = sp.GetRequiredService<JobActivator>(),
        FilterProvider = sp.GetRequiredService<IJobFilterProvider>(),
        TimeZoneResolver = new DefaultTimeZoneResolver(),
    };
}

/// <summary>The campaigns server's storage: the same tables, polled less often by its idle workers.</summary>
public sealed record CampaignStorage(JobStorage Storage);
