using Dispatcher.Web.Hosting;
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
        services.AddHostedService<ForgottenSimulatedCalls>();
        return services;
    }

    public static IEndpointRouteBuilder MapTelephonySimulator(this IEndpointRouteBuilder routes)
    {
        // Only this service calls its simulator (on 127.0.0.1). From anywhere else, a call created
        // here would come back as a correctly signed webhook, and its list would show phone numbers.
        var local = routes.MapGroup("").AddEndpointFilter((context, next) => ConnectionPeer.IsLocal(context.HttpContext)
            ? next(context)
            : ValueTask.FromResult<object?>(Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: "the telephony simulator answers this machine only")));
        UltravoxSimulator.Map(local);
        TwilioSimulator.Map(local);
        return routes;
    }
}
