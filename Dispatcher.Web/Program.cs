using Dispatcher.Jobs.Campaigns;
using Dispatcher.Queue;
using Dispatcher.Web.Campaigns;
using Dispatcher.Web.Configuration;
using Dispatcher.Web.Health;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Web.Api;
using Dispatcher.Web.Onboarding;
using Dispatcher.Web.Dashboard;

var builder = WebApplication.CreateBuilder(args);

ServiceSettings settings;
DashboardOptions dashboard;
try { settings = ServiceSettings.Read(builder.Configuration); dashboard = DashboardOptions.Read(builder.Configuration); }
catch (SettingsException ex)
{
    Console.Error.WriteLine($"configuration error: {ex.Message}");
    return 1;
}

try { builder.Services.AddDispatcherQueue(settings.DatabaseUrl, settings.Engine); }
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"configuration error: {ex.Message}");
    return 1;
}
builder.Services.AddCampaigns(settings.Campaigns, settings.Ultravox, settings.CredentialsKey);
builder.Services.AddSingleton(new ApiKeys(settings.ApiKeys));
builder.Services.AddDashboard(dashboard);
if (settings.Onboarding is not null && settings.Twilio is not null)
{
    builder.Services.AddOnboarding(settings.Onboarding, settings.Twilio);
    builder.Services.AddSingleton<TwilioRequests>();
}

var app = builder.Build();
app.MapHealth();
app.MapCampaigns();
app.MapDashboard();
if (settings.Onboarding is not null) app.MapOnboarding();
else app.Logger.LogWarning("Onboarding calls are off: TWILIO_ACCOUNT_SID is not set");
app.Run();
return 0;
