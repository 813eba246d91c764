using Hangfire;
using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>A recurring job the service declares: registered (or updated) under its stable id at every start.</summary>
public sealed record RecurringJobDeclaration(string Id, string Cron, Action<IRecurringJobManager, string, RecurringJobOptions> Register);

/// <summary>Registers every declared recurring job at start-up; Hangfire runs each occurrence once across instances.</summary>
public sealed class RecurringJobsRegistration(IRecurringJobManager manager, IEnumerable<RecurringJobDeclaration> declarations) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var declaration in declarations)
            declaration.Register(manager, declaration.Cron, new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
