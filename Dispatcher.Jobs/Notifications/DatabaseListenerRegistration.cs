using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.Notifications;

public static class DatabaseListenerRegistration
{
    /// <summary>Listens to <paramref name="subscription"/>'s channel on the instance's one listen connection (started once, however many channels).</summary>
    public static IServiceCollection AddChannelSubscription(this IServiceCollection services, Func<IServiceProvider, ChannelSubscription> subscription)
    {
        services.AddSingleton(subscription);
        if (services.Any(d => d.ServiceType == typeof(DatabaseListener))) return services;
        services.AddSingleton<DatabaseListener>();
        services.AddHostedService(sp => sp.GetRequiredService<DatabaseListener>());
        return services;
    }
}
