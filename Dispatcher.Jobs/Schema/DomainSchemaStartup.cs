using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.Schema;

/// <summary>
/// Migrates the domain tables when the host starts; registered before anything that reads them starts.
/// Hangfire's storage, where the host has one, is created first: creating it installs Hangfire's
/// schema, whose job table a domain script indexes (0005_hangfire_job_state_index).
/// </summary>
public sealed class DomainSchemaStartup(DomainSchema schema, IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetService<JobStorage>();
        return schema.UpgradeAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
