using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Jobs.CallingRules;

public static class CallingRulesServiceCollectionExtensions
{
    /// <summary>Calling hours, the do-not-call list and stop everything (tables: AddDomainSchema).</summary>
    public static IServiceCollection AddCallingRules(this IServiceCollection services, CallingRulesOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<ContactWindows>();
        services.AddSingleton<DoNotCallList>();
        services.AddSingleton<DispatchStops>();
        services.AddSingleton<OnboardingGate>();
        return services;
    }
}
