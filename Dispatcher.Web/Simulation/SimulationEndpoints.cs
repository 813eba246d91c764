namespace Dispatcher.Web.Simulation;

/// <summary>The built-in telephony simulator: Ultravox and Twilio stand-ins served by this service itself.</summary>
public static class SimulationEndpoints
{
    public static IServiceCollection AddTelephonySimulator(this IServiceCollection services, SimulatorOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<SimulatorActivity>();
        services.AddSingleton<UltravoxSimulator>();
        services.AddSingleton<TwilioSimulator>();
        return services;
    }

    public static IEndpointRouteBuilder MapTelephonySimulator(this IEndpointRouteBuilder routes)
    {
        UltravoxSimulator.Map(routes);
        TwilioSimulator.Map(routes);
        return routes;
    }
}
