using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Schema;

public static class DomainSchemaServiceCollectionExtensions
{
    /// <summary>
    /// The domain schema: campaigns, onboarding, then the host's own <paramref name="hostScripts"/>, applied at start.
    /// Call it before registering anything that touches domain tables when it starts (hosted services start in order).
    /// </summary>
    public static IServiceCollection AddDomainSchema(this IServiceCollection services, params DomainScripts[] hostScripts)
    {
        services.AddSingleton(sp => new DomainSchema(sp.GetRequiredService<NpgsqlDataSource>(),
            [DomainScripts.Campaigns, DomainScripts.Onboarding, .. hostScripts], sp.GetRequiredService<ILogger<DomainSchema>>()));
        services.AddHostedService<DomainSchemaStartup>();
        return services;
    }
}
