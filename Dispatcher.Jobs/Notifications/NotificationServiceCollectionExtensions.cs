using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Dispatcher.Jobs.Notifications;

public static class NotificationServiceCollectionExtensions
{
    /// <summary>Listens to <paramref name="channel"/> on the instance's one LISTEN connection.</summary>
    public static IServiceCollection AddChannelSubscription(this IServiceCollection services, string channel, Func<IServiceProvider, Action<string>> notify)
    {
        services.TryAddSingleton<DatabaseListener>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DatabaseListener>(sp => sp.GetRequiredService<DatabaseListener>()));
        services.AddSingleton(sp => new ChannelSubscription(channel, notify(sp)));
        return services;
    }
}
