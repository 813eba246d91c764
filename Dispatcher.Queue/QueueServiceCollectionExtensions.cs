using Dispatcher.Queue.Leadership;
using Dispatcher.Queue.Maintenance;
using Dispatcher.Queue.Monitoring;
using Dispatcher.Queue.Recurring;
using Dispatcher.Queue.Storage;
using Dispatcher.Queue.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue;

public static class QueueServiceCollectionExtensions
{
    /// <summary>
    /// The job engine. <paramref name="databaseUrl"/> is a postgres:// URL or an Npgsql connection
    /// string; without one, an NpgsqlDataSource already registered is used.
    /// </summary>
    public static IServiceCollection AddDispatcherQueue(this IServiceCollection services, string? databaseUrl, Action<QueueOptions>? configure = null)
    {
        var options = new QueueOptions();
        configure?.Invoke(options);
        options.Validate();
        var workerId = options.WorkerId ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";

        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        if (databaseUrl is not null)
            services.TryAddSingleton(_ => NpgsqlDataSource.Create(Tuned(databaseUrl, options)));
        services.AddSingleton(options);
        services.AddSingleton<QueueMetrics>();
        services.AddSingleton(sp => new JobKindRegistry(sp.GetServices<JobKind>()));
        services.AddSingleton<QueueWakeups>();
        services.AddSingleton<RunningJobs>();
        services.AddSingleton(sp => new NotifyThrottle(options, Clock(sp)));
        services.AddSingleton(sp => new JobClient(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<JobKindRegistry>(), options,
            sp.GetRequiredService<QueueWakeups>(), sp.GetRequiredService<NotifyThrottle>(), Clock(sp), JobJson.Options));
        services.AddSingleton(sp => new MigrationRunner(sp.GetRequiredService<NpgsqlDataSource>(), options, sp.GetRequiredService<ILogger<MigrationRunner>>()));
        services.AddSingleton(sp => new RecurringJobs(sp.GetRequiredService<NpgsqlDataSource>(), options, sp.GetRequiredService<JobClient>(),
            sp.GetRequiredService<JobKindRegistry>(), sp.GetServices<RecurringJobDeclaration>(), sp.GetRequiredService<QueueWakeups>(), Clock(sp)));
        services.AddSingleton(sp => new JobMonitor(sp.GetRequiredService<NpgsqlDataSource>(), options, Clock(sp)));
        services.AddSingleton(sp => CreateHost(sp, options, workerId));
        services.AddHostedService(sp => sp.GetRequiredService<QueueHost>());
        return services;
    }

    /// <summary>Registers a job kind under a stable <paramref name="name"/>, stored with every job of the kind.</summary>
    public static IServiceCollection AddJob<TArgs, THandler>(this IServiceCollection services, string name, Action<JobKindOptions>? configure = null)
        where TArgs : notnull
        where THandler : class, IJobHandler<TArgs>
    {
        var options = new JobKindOptions();
        configure?.Invoke(options);
        if (options.MaxAttempts < 1) throw new ArgumentException($"job kind '{name}' needs at least one attempt");
        services.TryAddScoped<THandler>();
        services.AddSingleton(JobKind.Create<TArgs, THandler>(name, options));
        return services;
    }

    /// <summary>Declares a recurring job; <paramref name="cron"/> has 5 fields, or 6 with seconds first.</summary>
    public static IServiceCollection AddRecurringJob<TArgs>(this IServiceCollection services, string name, string cron, TArgs args,
        Action<RecurringJobOptions>? configure = null) where TArgs : notnull
    {
        var options = new RecurringJobOptions();
        configure?.Invoke(options);
        TimeZoneInfo zone;
        try { zone = TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone); }
        catch (TimeZoneNotFoundException) { throw new ArgumentException($"recurring job '{name}': unknown time zone '{options.TimeZone}'"); }
        services.AddSingleton(new RecurringJobDeclaration(name, CronExpression.Parse(cron), zone, typeof(TArgs), args, options));
        return services;
    }

    /// <summary>
    /// The same few statements run all day: prepare them (planning was a sixth of the database's
    /// time), and skip the DISCARD ALL Npgsql sends on each return to the pool (a statement and a
    /// commit every time). Not behind a transaction-mode pooler, where neither is safe; settings
    /// given in the connection string win.
    /// </summary>
    private static string Tuned(string connectionString, QueueOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!options.UseListenNotify) return connectionString;
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)) builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }

    private static TimeProvider Clock(IServiceProvider sp) => sp.GetRequiredService<TimeProvider>();

    private static QueueHost CreateHost(IServiceProvider sp, QueueOptions options, string workerId)
    {
        var dataSource = sp.GetRequiredService<NpgsqlDataSource>();
        var clock = Clock(sp);
        var logs = sp.GetRequiredService<ILoggerFactory>();
        var metrics = sp.GetRequiredService<QueueMetrics>();
        var wakeups = sp.GetRequiredService<QueueWakeups>();
        var running = sp.GetRequiredService<RunningJobs>();
        var executor = new JobExecutor(sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<JobKindRegistry>(), running, clock,
            JobJson.Options, logs.CreateLogger<JobExecutor>());
        var completer = new Completer(dataSource, options, workerId, metrics, wakeups, clock, logs.CreateLogger<Completer>());
        var producers = options.Queues.Select(q => new Producer(q.Key, q.Value, dataSource, options, workerId, executor, completer,
            wakeups.For(q.Key), metrics, clock, logs.CreateLogger<Producer>())).ToList();
        MaintenanceService[] maintenance =
        [
            new Stager(dataSource, options, wakeups, clock, logs.CreateLogger<Stager>()),
            new RecurringScheduler(sp.GetRequiredService<RecurringJobs>(), options, clock, logs.CreateLogger<RecurringScheduler>()),
            new Rescuer(dataSource, options, clock, logs.CreateLogger<Rescuer>()),
            new Pruner(dataSource, options, clock, logs.CreateLogger<Pruner>()),
            new CountFolder(dataSource, options, clock, logs.CreateLogger<CountFolder>()),
        ];
        return new QueueHost(dataSource, options, sp.GetRequiredService<MigrationRunner>(), sp.GetRequiredService<RecurringJobs>(),
            new Heartbeat(dataSource, options, workerId, clock, logs.CreateLogger<Heartbeat>()),
            new Notifier(dataSource, options, wakeups, running, sp.GetServices<ChannelListener>(), clock, logs.CreateLogger<Notifier>()),
            completer, producers, new LeaderElector(dataSource, options, workerId, maintenance, clock, logs.CreateLogger<LeaderElector>()),
            wakeups, clock, logs.CreateLogger<QueueHost>(), workerId);
    }
}
