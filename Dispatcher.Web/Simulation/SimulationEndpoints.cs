using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Web.Hosting;
using Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Web.Simulation;

/// <summary>The built-in telephony simulator: the Ultravox and Twilio emulations, served by this service itself.</summary>
public static class SimulationEndpoints
{
    public static IServiceCollection AddTelephonySimulator(this IServiceCollection services, SimulatorOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<EmulationActivity>();
        services.AddSingleton(sp => StopsWithService(sp, SimulatedUltravox.Create(options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<EmulationActivity>())));
        services.AddSingleton(sp => StopsWithService(sp, SimulatedTwilio.Create(options, sp.GetRequiredService<TwilioOptions>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<EmulationActivity>())));
        services.AddHostedService<ForgottenSimulatedCalls>();
        return services;
    }

    public static IEndpointRouteBuilder MapTelephonySimulator(this IEndpointRouteBuilder routes)
    {
        var ultravox = routes.MapGroup(SimulatorOptions.UltravoxPrefix).ExcludeFromDescription();
        var twilio = routes.MapGroup(SimulatorOptions.TwilioPrefix).ExcludeFromDescription().DisableAntiforgery();
        // Only this service calls its simulator (on 127.0.0.1). From anywhere else, a call created
        // here would come back as a correctly signed webhook, and its list would show phone numbers.
        foreach (var group in new[] { ultravox, twilio })
            ((IEndpointConventionBuilder)group).Finally(endpoint =>
            {
                var inner = endpoint.RequestDelegate!;
                endpoint.RequestDelegate = context => ConnectionPeer.IsLocal(context) ? inner(context) : ForbiddenAsync(context);
            });
        routes.ServiceProvider.GetRequiredService<UltravoxEmulation>().Map(ultravox);
        routes.ServiceProvider.GetRequiredService<TwilioEmulation>().Map(twilio);
        return routes;
    }

    private static Task ForbiddenAsync(HttpContext context) =>
        Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: "the telephony simulator answers this machine only")
            .ExecuteAsync(context);

    // The simulated providers go away with the service, calls and all.
    private static T StopsWithService<T>(IServiceProvider services, T emulation) where T : class
    {
        var stop = emulation switch
        {
            UltravoxEmulation ultravox => (Action)ultravox.Stop,
            TwilioEmulation twilio => twilio.Stop,
            _ => throw new ArgumentException($"not an emulation: {typeof(T)}"),
        };
        services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(stop);
        return emulation;
    }
}
