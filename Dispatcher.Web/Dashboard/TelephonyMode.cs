namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Register one (services.AddSingleton(new TelephonyMode(...))) and every dashboard page shows it
/// as a banner, e.g. that calls go to a simulated provider. Nothing registered: no banner.
/// </summary>
public sealed record TelephonyMode(string Name, string Description);
