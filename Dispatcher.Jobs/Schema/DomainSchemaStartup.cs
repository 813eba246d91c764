using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.Schema;

/// <summary>Migrates the domain tables when the host starts; registered before anything that reads them starts.</summary>
public sealed class DomainSchemaStartup(DomainSchema schema) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => schema.UpgradeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
