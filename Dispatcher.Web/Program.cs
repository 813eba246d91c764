using Dispatcher.Jobs.Campaigns;
using Dispatcher.Queue;
using Dispatcher.Web.Campaigns;
using Dispatcher.Web.Configuration;
using Dispatcher.Web.Health;

var builder = WebApplication.CreateBuilder(args);

ServiceSettings settings;
try { settings = ServiceSettings.Read(builder.Configuration); }
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

var app = builder.Build();
app.MapHealth();
app.MapCampaigns();
app.Run();
return 0;
