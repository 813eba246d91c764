using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Web.CallingRules;
using Dispatcher.Web.Campaigns;
using Dispatcher.Web.Configuration;
using Dispatcher.Web.Health;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Jobs.HangfireWiring;
using Dispatcher.Jobs.Schema;
using Dispatcher.Web.Api;
using Dispatcher.Web.Hosting;
using Dispatcher.Web.Metrics;
using Dispatcher.Web.Onboarding;
using Dispatcher.Web.Dashboard;
using Dispatcher.Web.Simulation;
using Dispatcher.Web.Demo;

if (args is ["healthcheck"]) return await HealthProbe.RunAsync();

var builder = WebApplication.CreateBuilder(args);

ServiceSettings settings;
HostingSettings hosting;
DashboardOptions dashboard;
try
{
    settings = ServiceSettings.Read(builder.Configuration, builder.Environment.EnvironmentName);
    hosting = HostingSettings.Read(builder.Configuration);
    dashboard = DashboardOptions.Read(builder.Configuration);
}
catch (SettingsException ex)
{
    Console.Error.WriteLine($"configuration error: {ex.Message}");
    return 1;
}

var connectionString = PostgresUrl.ToConnectionString(settings.DatabaseUrl);
builder.Services.AddDatabase(connectionString);
// First: the schema is migrated before any other hosted service starts (the data-protection key ring is read at start).
builder.Services.AddDomainSchema(HostingSetup.Scripts);
builder.AddHosting(hosting);
builder.Services.AddDispatcherHangfire(connectionString, settings.Hangfire with { ShutdownTimeout = hosting.JobGrace });
// PORT (Render, run.sh) is honoured unless ASPNETCORE_URLS says otherwise.
if (settings.Port is { } port && string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
builder.Services.AddSingleton(settings.Telephony);
if (settings.Simulator is not null) builder.Services.AddTelephonySimulator(settings.Simulator);
builder.Services.AddCampaigns(settings.Campaigns, settings.Ultravox, settings.CredentialsKey);
builder.Services.AddCallingRules(settings.CallingRules);
builder.Services.AddApi(new ApiKeys(settings.ApiKeys));
builder.Services.AddMetricsExport();
builder.Services.AddDashboard(dashboard);
if (settings.Onboarding is not null && settings.Twilio is not null)
{
    builder.Services.AddOnboarding(settings.Onboarding, settings.Twilio);
    builder.Services.AddSingleton<TwilioRequests>();
}

if (settings.DemoData) builder.Services.AddDemoData();

var app = builder.Build();
app.Logger.LogTelephonyMode(settings);
app.UseHosting(hosting);
app.UseApi();
var api = app.MapApi();
api.MapCampaignApi(hosting.MaxUploadBytes);
api.MapOnboardingApi();
api.MapCallingRulesApi();
app.MapHealth();
app.MapMetricsExport();
if (settings.Simulator is not null) app.MapTelephonySimulator();
app.MapCampaigns();
app.MapHangfireDashboard();
if (settings.Onboarding is not null) app.MapOnboarding();
else app.Logger.LogWarning("Onboarding calls are off: TWILIO_ACCOUNT_SID is not set");
app.Run();
return 0;
